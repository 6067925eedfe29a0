import { test, expect } from './fixtures';
import { sfuURL } from '../playwright.config';
import { callIdentity, expectAudioArriving, expectPlayingVideos, join, newRoom } from './calls';
import { smallCamera } from './faults';
import { Parley } from './network';

// A meeting through the server's forwarding unit (a Parley started with --sfu-listen
// and --mesh-limit 0): each browser has one connection, to the server, and sees and
// hears everyone else through it.

test('through the server: four people, one connection each, everyone sees and hears the others, and a presentation', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const room = await newRoom(browser, sfuURL);
  const people = [];
  for (const name of ['Ada', 'Bob', 'Cy', 'Dee']) people.push(await join(browser, room, name));
  for (const person of people) await expectPlayingVideos(person.page, 3);
  for (const person of people) {
    expect(await person.page.evaluate(() => (window as any).__pcs.length), 'one connection, to the server').toBe(1);
  }
  await expectAudioArriving(people[0].page);
  // The people panel says how: through the server, with its figures.
  await people[0].page.getByRole('button', { name: /^People/ }).click();
  await expect(people[0].page.getByRole('list', { name: 'In the meeting' })).toContainText(
    /Through the Parley server · \d+ ms round trip/,
  );

  // Ada presents: everyone sees it through the server, beside her camera.
  await people[0].page.getByRole('button', { name: 'Present now' }).click();
  for (const person of people.slice(1)) {
    const video = person.page.getByRole('figure', { name: 'Presentation by Ada' }).locator('video');
    await expect
      .poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 })
      .toBeGreaterThan(0);
    await expectPlayingVideos(person.page, 3);
  }
  await people[0].page.getByRole('button', { name: 'Stop presenting' }).click();
  for (const person of people) await expect(person.page.locator('figure.presentation')).toHaveCount(0);

  // One leaves: the others' tiles for them go, the rest play on.
  await people[3].page.getByRole('button', { name: 'Leave call' }).click();
  for (const person of people.slice(0, 3)) {
    await expect(person.page.locator('.tile.remote')).toHaveCount(2);
    await expectPlayingVideos(person.page, 2);
  }
  for (const person of people) await person.context.close();
});

/** In the page: frames shown so far on each remote tile. */
const tileFrames = () =>
  [...document.querySelectorAll('.tile.remote video')].map(
    (v) => (v as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames,
  );

test('through the server: the server restarts (SIGKILL, then SIGTERM) and the tiles say so and every picture is back within 5 s, same people, no video reloaded', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const parley = new Parley(3952, ['--sfu-listen', '127.0.0.1:3962', '--mesh-limit', '0']);
  await parley.start();
  try {
    const room = await newRoom(browser, parley.url);
    const people = [];
    for (const name of ['Ada', 'Bob', 'Cy']) people.push(await join(browser, room, name, { scripts: [{ script: smallCamera }] }));
    for (const person of people) await expectPlayingVideos(person.page, 2);
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const before = await Promise.all(people.map((person) => callIdentity(person.page)));
      await parley.stop(signal);
      await expect(people[0].page.getByRole('alert')).toContainText('Reconnecting');
      // The pictures stop: the tiles say so once the browser notices.
      for (const person of people) {
        await expect(person.page.locator('.tile.remote').first()).toContainText('Reconnecting…', { timeout: 15_000 });
      }
      await parley.start();
      const upAt = Date.now();
      const frames = await Promise.all(people.map((person) => person.page.evaluate(tileFrames)));
      for (const [i, person] of people.entries()) {
        await expect
          .poll(
            async () => (await person.page.evaluate(tileFrames)).every((count, tile) => count >= frames[i][tile] + 5),
            { message: 'every picture moves again', timeout: 5_000, intervals: [100] },
          )
          .toBe(true);
      }
      console.log(`server restart (${signal}) through the server: every picture back ${Date.now() - upAt} ms after it was up`);
      for (const person of people) await expect(person.page.locator('.tile.remote')).not.toContainText(['Reconnecting…']);
      for (const [i, person] of people.entries()) {
        const after = await callIdentity(person.page);
        expect(after.peers, 'the same people').toEqual(before[i].peers);
        expect(after.loadstarts, 'no video reloaded').toBe(before[i].loadstarts);
      }
    }
    for (const person of people) await person.context.close();
  } finally {
    await parley.stop('SIGKILL');
    parley.removeDatabase();
  }
});
