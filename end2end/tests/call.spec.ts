import { test, expect } from './fixtures';
import { relayURL } from '../playwright.config';
import { hydrated } from './pages';
import {
  collisions,
  expectAudioArriving,
  expectPlayingVideos,
  inbound,
  join,
  newRoom,
  reportFirstFrame,
  selectedLocalCandidateTypes,
} from './calls';

// The everyday call: two and three people, switches, a stuck start, the relay, a
// blocked camera. The helpers are in calls.ts; faults are in resilience.spec.ts.

test('two participants see and hear each other', async ({ browser, baseURL }) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  await expect(ada.page.getByText('Waiting for others to join')).toBeVisible();
  const bob = await join(browser, room, 'Bob');

  reportFirstFrame('second to join', bob, await expectPlayingVideos(bob.page, 1));
  await expectPlayingVideos(ada.page, 1);
  await expect(ada.page.locator('.tile.remote .name')).toHaveText('Bob');
  await expect(bob.page.locator('.tile.remote .name')).toHaveText('Ada');
  await expect(ada.page.getByText('Waiting for others to join')).toBeHidden();
  for (const who of [ada, bob]) await expect(who.page.getByText('Connecting…')).toBeHidden();

  await expectAudioArriving(ada.page);
  await expectAudioArriving(bob.page);
  for (const who of [ada, bob]) {
    const video = (await inbound(who.page)).filter((s) => s.kind === 'video');
    expect(video.some((s) => s.frames > 0), 'video frames decoded').toBe(true);
    expect(await collisions(who.page), 'colliding offers').toBe(0);
  }
  await ada.context.close();
  await bob.context.close();
});

test('three participants, then one leaves', async ({ browser, baseURL }) => {
  const room = await newRoom(browser, baseURL!);
  const a = await join(browser, room, 'Ana');
  const b = await join(browser, room, 'Ben');
  const c = await join(browser, room, 'Cleo');
  reportFirstFrame('third to join, both remotes', c, await expectPlayingVideos(c.page, 2));
  for (const who of [a, b]) await expectPlayingVideos(who.page, 2);
  for (const who of [a, b, c]) expect(await collisions(who.page), 'colliding offers').toBe(0);

  await c.page.getByRole('button', { name: 'Leave call' }).click();
  await expect(c.page.getByRole('heading', { name: 'You left the meeting' })).toBeVisible();
  for (const who of [a, b]) {
    await expect(who.page.locator('.tile.remote')).toHaveCount(1);
    await expect(who.page.locator('.tile.remote .name')).not.toHaveText('Cleo');
  }

  // Rejoining brings the tile back for the others.
  await c.page.getByRole('button', { name: 'Rejoin' }).click();
  await expect(c.page.getByLabel('Your name')).toHaveValue('Cleo');
  await c.page.getByRole('button', { name: 'Join now' }).click();
  for (const who of [a, b, c]) await expectPlayingVideos(who.page, 2);
  for (const who of [a, b, c]) await who.context.close();
});

test('microphone and camera switches show on the other side', async ({ browser, baseURL }) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  await expectPlayingVideos(bob.page, 1);
  const adaOnBob = bob.page.locator('.tile.remote');
  await expect(adaOnBob.getByRole('img', { name: 'Microphone off' })).toHaveCount(0);

  await ada.page.getByRole('button', { name: 'Turn off microphone' }).click();
  await expect(adaOnBob.getByRole('img', { name: 'Microphone off' })).toBeVisible();
  await expect(ada.page.getByRole('button', { name: 'Turn on microphone' })).toBeVisible();

  await ada.page.getByRole('button', { name: 'Turn off camera' }).click();
  await expect(adaOnBob).toHaveClass(/camera-off/);
  await expect(adaOnBob.locator('.avatar')).toHaveText('A');
  await expect(adaOnBob.locator('.avatar')).toBeVisible();

  await ada.page.getByRole('button', { name: 'Turn on camera' }).click();
  await ada.page.getByRole('button', { name: 'Turn on microphone' }).click();
  await expect(adaOnBob).not.toHaveClass(/camera-off/);
  await expect(adaOnBob.getByRole('img', { name: 'Microphone off' })).toHaveCount(0);

  // Meet's shortcuts do the same: Ctrl+D for the microphone, Ctrl+E for the camera.
  await expect(ada.page.getByRole('button', { name: 'Turn off microphone' })).toHaveAttribute(
    'title',
    'Turn off microphone (Ctrl+D)',
  );
  await ada.page.keyboard.press('Control+d');
  await expect(adaOnBob.getByRole('img', { name: 'Microphone off' })).toBeVisible();
  await expect(ada.page.getByRole('button', { name: 'Turn on microphone' })).toBeVisible();
  await ada.page.keyboard.press('Control+e');
  await expect(adaOnBob).toHaveClass(/camera-off/);
  await ada.page.keyboard.press('Control+d');
  await ada.page.keyboard.press('Control+e');
  await expect(adaOnBob).not.toHaveClass(/camera-off/);
  await expect(adaOnBob.getByRole('img', { name: 'Microphone off' })).toHaveCount(0);

  // The remembered name is offered next time.
  const again = await ada.context.newPage();
  await again.goto(room);
  await hydrated(again);
  await expect(again.getByLabel('Your name')).toHaveValue('Ada');
  await ada.context.close();
  await bob.context.close();
});

test('a connection that never starts negotiating is started again', async ({ browser, baseURL }) => {
  // Neither side hears negotiationneeded, so only Parley's check on stuck
  // connections can get this call going.
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada', { dropNegotiationNeeded: true });
  const bob = await join(browser, room, 'Bob', { dropNegotiationNeeded: true });
  // Until then, each tile says the connection is being set up.
  for (const who of [ada, bob]) {
    await expect(who.page.locator('.tile.remote').getByText('Connecting…')).toBeVisible();
  }
  await expectPlayingVideos(bob.page, 1);
  await expectPlayingVideos(ada.page, 1);
  await expectAudioArriving(ada.page);
  for (const who of [ada, bob]) await expect(who.page.getByText('Connecting…')).toBeHidden();
  await ada.context.close();
  await bob.context.close();
});

test('relay-only calls go through coturn', async ({ browser }) => {
  const room = await newRoom(browser, relayURL);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  reportFirstFrame('through the TURN relay', bob, await expectPlayingVideos(bob.page, 1));
  await expectPlayingVideos(ada.page, 1);
  for (const who of [ada, bob]) {
    const types = await selectedLocalCandidateTypes(who.page);
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => t === 'relay'), `selected local candidates: ${types}`).toBe(true);
  }
  await ada.context.close();
  await bob.context.close();
});

test('a blocked camera still joins, receive-only for video, and says so', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const shy = await join(browser, room, 'Shy', { blockCamera: true });
  await expect(shy.page.getByRole('status')).toContainText('camera is blocked for this site');
  await expect(shy.page.getByRole('button', { name: 'Turn on camera' })).toBeDisabled();
  await shy.page.keyboard.press('Control+e'); // no camera to switch on
  await expect(shy.page.getByRole('button', { name: 'Turn on camera' })).toBeDisabled();
  const bob = await join(browser, room, 'Bob');

  // Shy sees Bob's video; Bob sees Shy's initial and hears Shy.
  await expectPlayingVideos(shy.page, 1);
  const shyOnBob = bob.page.locator('.tile.remote');
  await expect(shyOnBob.locator('.avatar')).toHaveText('S');
  await expect(shyOnBob).toHaveClass(/camera-off/);
  await expectAudioArriving(bob.page);
  await shy.context.close();
  await bob.context.close();
});
