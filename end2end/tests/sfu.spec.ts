import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import { sfuURL } from '../playwright.config';
import { callIdentity, expectAudioArriving, expectPlayingVideos, join, newRoom, tileFrames } from './calls';
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

  // Ada presents: everyone sees it through the server, beside her camera. It is sent
  // as detail (text: the encoder keeps the resolution and gives up frame rate) and
  // arrives as tall as it is captured.
  await people[0].page.getByRole('button', { name: 'Present now' }).click();
  const presented = () =>
    people[0].page.evaluate(() => {
      for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
        for (const sender of pc.getSenders()) {
          const track = sender.track;
          if (track && (track.getSettings() as any).displaySurface) {
            return { hint: track.contentHint, height: track.getSettings().height ?? 0 };
          }
        }
      }
      return null;
    });
  // (The screen is captured, then sent: wait for it to be sent.)
  await expect.poll(presented, { message: 'the presentation is sent' }).not.toBeNull();
  const captured = await presented();
  expect(captured?.hint, 'the presentation is sent as detail').toBe('detail');
  for (const person of people.slice(1)) {
    const video = person.page.getByRole('figure', { name: 'Presentation by Ada' }).locator('video');
    await expect
      .poll(() => video.evaluate((v: HTMLVideoElement) => v.videoHeight), { timeout: 20_000 })
      .toBe(captured!.height);
    await expectPlayingVideos(person.page, 3);
  }
  console.log(`Ada's presentation arrives ${captured!.height} px tall, as captured`);
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

/** In the page: the height of the video arriving on the connection to the server. */
const arrivingHeight = () =>
  Promise.all(
    ((window as any).__pcs as RTCPeerConnection[])
      .filter((pc) => pc.connectionState !== 'closed')
      .map((pc) => pc.getStats()),
  ).then((reports) => {
    let height = 0;
    for (const report of reports) {
      report.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') height = Math.max(height, s.frameHeight ?? 0);
      });
    }
    return height;
  });

/** Video bytes the page received over `ms`. */
async function videoBytesOver(page: Page, ms: number): Promise<number> {
  const bytes = () =>
    page.evaluate(async () => {
      let total = 0;
      for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') total += s.bytesReceived ?? 0;
        });
      }
      return total;
    });
  const before = await bytes();
  await page.waitForTimeout(ms);
  return (await bytes()) - before;
}

test('through the server: each camera arrives in the layer that fits its tile: a small tile gets a lower layer within 2 s, a large one the full layer again, a tile off the screen nothing', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const room = await newRoom(browser, sfuURL);
  // Ada's camera is the fake device's 640x480: sent as 160x120, 320x240 and 640x480.
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  await expectPlayingVideos(bob.page, 1);
  const tileHeight = () => bob.page.locator('.tile.remote').evaluate((t) => t.getBoundingClientRect().height);

  // A large tile: the full layer.
  await bob.page.setViewportSize({ width: 1280, height: 720 });
  await expect.poll(() => bob.page.evaluate(arrivingHeight), { timeout: 15_000 }).toBe(480);
  console.log(`Bob's tile ${Math.round(await tileHeight())} px tall: Ada's video arrives 480 high`);

  // Bob makes his window small: his tile shrinks, and a smaller layer comes.
  const steps: [{ width: number; height: number }, (height: number) => boolean, string][] = [
    [{ width: 360, height: 260 }, (h) => h > 0 && h < 480, 'smaller'],
    [{ width: 1280, height: 720 }, (h) => h === 480, 'the full layer'],
  ];
  for (const [viewport, fits, what] of steps) {
    await bob.page.setViewportSize(viewport);
    const resizedAt = Date.now();
    await expect
      .poll(async () => fits(await bob.page.evaluate(arrivingHeight)), { timeout: 2_000, intervals: [50] })
      .toBe(true);
    const height = await bob.page.evaluate(arrivingHeight);
    console.log(
      `window ${viewport.width}x${viewport.height}, tile ${Math.round(await tileHeight())} px: ${what}, ${height} high, after ${Date.now() - resizedAt} ms`,
    );
    await expectPlayingVideos(bob.page, 1);
  }

  // A tile off the screen gets nothing: Ada's video stops arriving, and comes back
  // when the tile does.
  const tile = bob.page.locator('.tile.remote');
  await tile.evaluate((t: HTMLElement) => (t.style.display = 'none'));
  await expect.poll(() => videoBytesOver(bob.page, 1_000), { timeout: 5_000 }).toBeLessThan(2_000);
  await tile.evaluate((t: HTMLElement) => (t.style.display = ''));
  await expect.poll(() => videoBytesOver(bob.page, 1_000), { timeout: 5_000 }).toBeGreaterThan(5_000);
  await expectPlayingVideos(bob.page, 1);
  for (const person of [ada, bob]) await person.context.close();
});

test('through the server: someone who joins with the camera off and turns it on a while later is seen; off for a while and on again, seen again', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const room = await newRoom(browser, sfuURL);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob', {
    inLobby: async (page) => {
      await page.getByRole('button', { name: 'Turn off camera' }).click();
    },
  });
  await expectPlayingVideos(bob.page, 1);
  const bobsTile = ada.page.locator('.tile.remote');
  await expect(bobsTile).toHaveClass(/camera-off/);
  // Each time, off for longer than the server waits before it pauses a layer nobody
  // watches: turned on, the camera must still reach Ada.
  for (const when of ['after joining with it off', 'off and on again']) {
    await ada.page.waitForTimeout(5_000);
    await bob.page.getByRole('button', { name: 'Turn on camera' }).click();
    await expect(bobsTile).not.toHaveClass(/camera-off/);
    await expectPlayingVideos(ada.page, 1);
    console.log(`Bob's camera on ${when}: Ada sees it, ${await ada.page.evaluate(arrivingHeight)} high`);
    await bob.page.getByRole('button', { name: 'Turn off camera' }).click();
    await expect(bobsTile).toHaveClass(/camera-off/);
  }
  for (const person of [ada, bob]) await person.context.close();
});

/** In the page: frames shown so far on each remote tile. */
/**
 * Stops the server with `signal` and starts it again: the tiles say "Reconnecting…",
 * then every picture on every page moves again within 5 s of the server being up,
 * with the same people and no video reloaded.
 */
async function restartAndExpectPicturesBack(
  parley: Parley,
  people: { page: Page }[],
  signal: NodeJS.Signals,
  label: string,
) {
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
  console.log(`server restart (${signal}), ${label}: every picture back ${Date.now() - upAt} ms after it was up`);
  for (const person of people) await expect(person.page.locator('.tile.remote')).not.toContainText(['Reconnecting…']);
  for (const [i, person] of people.entries()) {
    const after = await callIdentity(person.page);
    expect(after.peers, 'the same people').toEqual(before[i].peers);
    expect(after.loadstarts, 'no video reloaded').toBe(before[i].loadstarts);
  }
}

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
      await restartAndExpectPicturesBack(parley, people, signal, 'through the server');
    }
    for (const person of people) await person.context.close();
  } finally {
    await parley.stop('SIGKILL');
    parley.removeDatabase();
  }
});

test('through the server after growing past the mesh limit: the server restarts (SIGKILL) and every picture is back through it within 5 s, same people, no video reloaded', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  // As Parley runs by default: peer-to-peer while small; four people here go through
  // the server (the limit is 3).
  const parley = new Parley(3956, ['--sfu-listen', '127.0.0.1:3967', '--mesh-limit', '3']);
  await parley.start();
  try {
    const room = await newRoom(browser, parley.url);
    const people = [];
    for (const name of ['Ada', 'Bob', 'Cy', 'Dee']) people.push(await join(browser, room, name, { scripts: [{ script: smallCamera }] }));
    for (const person of people) {
      await expectPlayingVideos(person.page, 3);
      await expect
        .poll(() => person.page.evaluate(() => (window as any).__pcs.filter((pc: RTCPeerConnection) => pc.connectionState !== 'closed').length), {
          message: 'moved to the server: one connection',
          timeout: 30_000,
        })
        .toBe(1);
    }
    await restartAndExpectPicturesBack(parley, people, 'SIGKILL', 'four people past a mesh limit of 3');
    for (const person of people) await person.context.close();
  } finally {
    await parley.stop('SIGKILL');
    parley.removeDatabase();
  }
});

test('through the server: a pinned person takes the stage and their camera arrives in its full layer; unpinned, a smaller one again', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const room = await newRoom(browser, sfuURL);
  // Ada's camera is the fake device's 640x480: sent as 320x240 and 640x480.
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  const cy = await join(browser, room, 'Cy');
  await cy.page.setViewportSize({ width: 900, height: 560 });
  await expectPlayingVideos(cy.page, 2);
  const adaCell = cy.page.locator('.cell', { has: cy.page.locator('.tile.remote', { hasText: 'Ada' }) });
  const tileHeight = () => adaCell.locator('.tile').evaluate((t) => t.getBoundingClientRect().height);
  await expect.poll(() => cy.page.evaluate(arrivingHeight), { timeout: 15_000 }).toBe(240);
  console.log(`in the grid, Ada's tile ${Math.round(await tileHeight())} px tall: 240 lines arrive`);

  // Cy pins Ada from the keyboard: her tile takes the stage, the others a strip.
  const pin = cy.page.getByRole('button', { name: 'Pin Ada' });
  await pin.focus();
  await cy.page.keyboard.press('Enter');
  await expect(pin).toHaveAttribute('aria-pressed', 'true');
  await expect(adaCell).toHaveClass(/pinned/);
  await expect(cy.page.locator('.stage')).toHaveClass(/pinning/);
  const pinnedAt = Date.now();
  await expect.poll(() => cy.page.evaluate(arrivingHeight), { timeout: 3_000, intervals: [50] }).toBe(480);
  console.log(`pinned, Ada's tile ${Math.round(await tileHeight())} px tall: 480 lines after ${Date.now() - pinnedAt} ms`);
  await expectPlayingVideos(cy.page, 2);

  // Unpinned: back in the grid, the smaller layer again.
  await pin.click();
  await expect(pin).toHaveAttribute('aria-pressed', 'false');
  await expect(cy.page.locator('.stage')).not.toHaveClass(/pinning/);
  await expect.poll(() => cy.page.evaluate(arrivingHeight), { timeout: 3_000, intervals: [50] }).toBe(240);
  await expectPlayingVideos(cy.page, 2);
  for (const person of [ada, bob, cy]) await person.context.close();
});
