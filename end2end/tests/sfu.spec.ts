import { test, expect } from './fixtures';
import { sfuURL } from '../playwright.config';
import { expectAudioArriving, expectPlayingVideos, join, newRoom } from './calls';

// A meeting through the server's forwarding unit (a Parley started with --sfu-listen
// and --mesh-limit 0): each browser has one connection, to the server, and sees and
// hears everyone else through it.

test('through the server: four people, one connection each, everyone sees and hears the others', async ({
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

  // One leaves: the others' tiles for them go, the rest play on.
  await people[3].page.getByRole('button', { name: 'Leave call' }).click();
  for (const person of people.slice(0, 3)) {
    await expect(person.page.locator('.tile.remote')).toHaveCount(2);
    await expectPlayingVideos(person.page, 2);
  }
  for (const person of people) await person.context.close();
});
