import { test, expect } from './fixtures';
import { callIdentity, expectPlayingVideos, inbound, join, newRoom, openLobby } from './calls';
import {
  cameraTrackStates,
  chooseDevice,
  countOffers,
  expectPlayingSelfView,
  framesReceived,
  offersSent,
  selfCameraLabel,
  sentTrackLabels,
} from './devices';
import { delayApp, keepLocalStreams } from './faults';
import { hydrated } from './pages';

// The lobby and the devices, as in Meet: a preview with a level meter, joining muted or
// with the camera off, choosing cameras, microphones and speakers before and during
// the call without renegotiating, a camera whose light goes off when it is off, a
// device that goes away, a name typed before the page was live, choices remembered.

test('the lobby shows your picture, mirrored, and a level meter that moves with the microphone', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const { context, page } = await openLobby(browser, room, 'Ada');
  await expectPlayingSelfView(page);
  const transform = await page
    .locator('.lobby .tile.self video')
    .evaluate((v) => getComputedStyle(v).transform);
  expect(transform, 'the preview is mirrored').toBe('matrix(-1, 0, 0, 1, 0, 0)');

  // The fake microphone beeps about once a second: the meter goes up and comes down.
  const meter = page.getByRole('meter', { name: 'Microphone level' });
  const readings: number[] = [];
  for (let i = 0; i < 40; i++) {
    readings.push(Number(await meter.getAttribute('aria-valuenow')));
    await page.waitForTimeout(75);
  }
  expect(Math.max(...readings), `meter readings ${readings}`).toBeGreaterThan(30);
  expect(Math.min(...readings), `meter readings ${readings}`).toBeLessThan(Math.max(...readings) - 20);

  // The menus list the three fake devices of each kind, the ones in use chosen.
  await expect(page.getByLabel('Camera', { exact: true }).locator('option')).toHaveText([
    'fake_device_0',
    'fake_device_1',
    'fake_device_2',
  ]);
  await expect(page.getByLabel('Microphone', { exact: true }).locator('option')).toHaveCount(3);
  await expect(page.getByLabel('Speaker', { exact: true }).locator('option')).toHaveCount(3);
  expect(await page.getByLabel('Camera', { exact: true }).evaluate((s: HTMLSelectElement) => s.selectedOptions[0].text)).toBe(
    'fake_device_0',
  );
  await context.close();
});

test('joining with the microphone and camera off: the others see it at once, and no picture comes until the camera is on', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob', {
    scripts: [{ script: keepLocalStreams }, { script: countOffers }],
    inLobby: async (page) => {
      await expectPlayingSelfView(page);
      await page.getByRole('button', { name: 'Turn off microphone' }).click();
      await page.getByRole('button', { name: 'Turn off camera' }).click();
      // The camera's light goes off in the lobby already.
      await expect.poll(() => cameraTrackStates(page)).toEqual(['ended']);
      await expect(page.getByRole('meter', { name: 'Microphone level' })).toHaveAttribute('aria-valuenow', '0');
    },
  });
  await expect(bob.page.getByRole('button', { name: 'Turn on microphone' })).toBeVisible();
  await expect(bob.page.getByRole('button', { name: 'Turn on camera' })).toBeVisible();

  // The first time Ada's page shows Bob, he is already muted and camera-off.
  const firstSight = await ada.page.waitForFunction(() => {
    const tile = document.querySelector('.tile.remote');
    if (!tile) return null;
    return {
      cameraOff: tile.classList.contains('camera-off'),
      muted: tile.querySelector('[aria-label="Microphone off"]') !== null,
      initial: tile.querySelector('.avatar')?.textContent,
    };
  });
  expect(await firstSight.jsonValue()).toEqual({ cameraOff: true, muted: true, initial: 'B' });

  // Connected (Ada's video reaches Bob), yet nothing comes from Bob: not one frame, and
  // no audio either (a microphone that is off sends nothing, not silence).
  await expectPlayingVideos(bob.page, 1);
  await ada.page.waitForTimeout(2_000);
  expect(await framesReceived(ada.page), 'frames from a camera that is off').toBe(0);
  expect(
    (await inbound(ada.page)).filter((s) => s.kind === 'audio').reduce((n, s) => n + s.packets, 0),
    'audio from a microphone that is off',
  ).toBe(0);
  const offers = await offersSent(bob.page);

  await bob.page.getByRole('button', { name: 'Turn on camera' }).click();
  await expectPlayingVideos(ada.page, 1);
  await expect(ada.page.locator('.tile.remote')).not.toHaveClass(/camera-off/);
  expect(await framesReceived(ada.page)).toBeGreaterThan(0);
  expect(await offersSent(bob.page), 'turning the camera on needs no new offer').toBe(offers);
  await ada.context.close();
  await bob.context.close();
});

test('switching the camera and microphone in the lobby and in the call: no renegotiation, nobody leaves', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada', {
    scripts: [{ script: keepLocalStreams }, { script: countOffers }],
    inLobby: async (page) => {
      await expectPlayingSelfView(page);
      await chooseDevice(page, 'Camera', 'fake_device_1');
      await expect.poll(() => selfCameraLabel(page)).toBe('fake_device_1');
      await expectPlayingSelfView(page);
      // fake_device_1 is a 16-bit depth camera, which Chromium's WebRTC never
      // encodes (0 frames sent): the call itself uses the other two.
      await chooseDevice(page, 'Camera', 'fake_device_2');
      await expect.poll(() => selfCameraLabel(page)).toBe('fake_device_2');
    },
  });
  const bob = await join(browser, room, 'Bob', { scripts: [{ script: countOffers }] });
  await expectPlayingVideos(bob.page, 1);
  await expectPlayingVideos(ada.page, 1);
  expect((await sentTrackLabels(ada.page)).video).toEqual(['fake_device_2:live']);

  const adaBefore = await callIdentity(ada.page);
  const bobBefore = await callIdentity(bob.page);
  const offers = [await offersSent(ada.page), await offersSent(bob.page)];

  // In the call: the settings dialog, by keyboard.
  await ada.page.getByRole('button', { name: 'Settings' }).focus();
  await ada.page.keyboard.press('Enter');
  const settings = ada.page.getByRole('dialog', { name: 'Settings' });
  await expect(settings).toBeVisible();
  await chooseDevice(ada.page, 'Camera', 'fake_device_0');
  await chooseDevice(ada.page, 'Microphone', 'Fake Audio Input 1');
  await expect.poll(async () => (await sentTrackLabels(ada.page)).video).toEqual(['fake_device_0:live']);
  await expect.poll(async () => (await sentTrackLabels(ada.page)).audio).toEqual(['Fake Audio Input 1:live']);
  // Escape closes the dialog, as dialogs do.
  await ada.page.keyboard.press('Escape');
  await expect(settings).toBeHidden();

  // Bob's picture of Ada keeps coming; nobody renegotiated, left or reloaded.
  const frames = await framesReceived(bob.page);
  await expect.poll(() => framesReceived(bob.page)).toBeGreaterThan(frames + 10);
  expect([await offersSent(ada.page), await offersSent(bob.page)]).toEqual(offers);
  expect(await callIdentity(ada.page)).toEqual(adaBefore);
  expect(await callIdentity(bob.page)).toEqual(bobBefore);
  await expect(bob.page.locator('.tile.remote')).not.toHaveClass(/camera-off/);
  // The cameras no longer in use are closed: only the one sending is live.
  expect((await cameraTrackStates(ada.page)).filter((s) => s === 'live')).toHaveLength(1);

  // The speaker: Ada hears Bob on the output she chose.
  await ada.page.getByRole('button', { name: 'Settings' }).click();
  await chooseDevice(ada.page, 'Speaker', 'Fake Audio Output 2');
  await ada.page.getByRole('button', { name: 'Done' }).click();
  const outputId = await ada.page.evaluate(async () => {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.find((d) => d.label === 'Fake Audio Output 2')!.deviceId;
  });
  await expect
    .poll(() => ada.page.locator('.tile.remote video').evaluate((v: any) => v.sinkId))
    .toBe(outputId);
  await ada.context.close();
  await bob.context.close();
});

test('turning the camera off stops it (the light goes off); on again, the others see the picture', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada', { scripts: [{ script: keepLocalStreams }] });
  const bob = await join(browser, room, 'Bob');
  await expectPlayingVideos(bob.page, 1);

  await ada.page.getByRole('button', { name: 'Turn off camera' }).click();
  await expect.poll(() => cameraTrackStates(ada.page)).toEqual(['ended']);
  await expect(bob.page.locator('.tile.remote')).toHaveClass(/camera-off/);
  expect((await sentTrackLabels(ada.page)).video).toEqual([null]);

  const frames = await framesReceived(bob.page);
  await ada.page.getByRole('button', { name: 'Turn on camera' }).click();
  await expect(bob.page.locator('.tile.remote')).not.toHaveClass(/camera-off/);
  await expect.poll(() => framesReceived(bob.page)).toBeGreaterThan(frames + 10);
  await expectPlayingVideos(bob.page, 1);
  expect(await cameraTrackStates(ada.page)).toEqual(['ended', 'live']);
  await ada.context.close();
  await bob.context.close();
});

test('a camera that stops working is replaced by another, and Parley says so', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada', {
    inLobby: async (page) => {
      await expectPlayingSelfView(page);
      await chooseDevice(page, 'Camera', 'fake_device_2');
      await expect.poll(() => selfCameraLabel(page)).toBe('fake_device_2');
    },
  });
  const bob = await join(browser, room, 'Bob');
  await expectPlayingVideos(bob.page, 1);
  expect((await sentTrackLabels(ada.page)).video).toEqual(['fake_device_2:live']);

  // What unplugging does: the track ends, and says so with an `ended` event.
  await ada.page.evaluate(() => {
    const video = document.querySelector('.tile.self video') as HTMLVideoElement;
    const track = (video.srcObject as MediaStream).getVideoTracks()[0];
    track.stop();
    track.dispatchEvent(new Event('ended'));
  });
  await expect(ada.page.getByRole('status')).toContainText('camera “fake_device_2” stopped working');
  await expect(ada.page.getByRole('status')).toContainText('Now using “fake_device_0”');
  await expect.poll(async () => (await sentTrackLabels(ada.page)).video).toEqual(['fake_device_0:live']);
  const frames = await framesReceived(bob.page);
  await expect.poll(() => framesReceived(bob.page)).toBeGreaterThan(frames + 10);
  await expect(bob.page.locator('.tile.remote')).not.toHaveClass(/camera-off/);
  await ada.context.close();
  await bob.context.close();
});

test('a name typed before the page is live counts; the form works without the app', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const bob = await join(browser, room, 'Bob');

  // A slow link: the app arrives 3 s after the page.
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await delayApp(context);
  const page = await context.newPage();
  await page.goto(room, { waitUntil: 'domcontentloaded' });
  await page.getByLabel('Your name').fill('Early');
  expect(await page.evaluate(() => (window as any).__parley_hydrated === true)).toBe(false);
  await hydrated(page);
  await expect(page.getByRole('button', { name: 'Join now' })).toBeEnabled();
  await page.getByRole('button', { name: 'Join now' }).click();
  await expect(bob.page.locator('.tile.remote .name')).toHaveText('Early');
  await context.close();

  // Without the app at all, sending the form keeps the name for when it arrives.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const form = await plain.newPage();
  await form.goto(room);
  await form.getByLabel('Your name').fill('Plain');
  await form.getByLabel('Your name').press('Enter');
  await expect(form).toHaveURL(/\?join=1&name=Plain$/);
  await expect(form.getByLabel('Your name')).toHaveValue('Plain');
  await plain.close();
  await bob.context.close();
});

test('device choices and switches are remembered after a reload', async ({ browser, baseURL }) => {
  const room = await newRoom(browser, baseURL!);
  const { context, page } = await openLobby(browser, room, 'Ada', {
    scripts: [{ script: keepLocalStreams }],
  });
  await expectPlayingSelfView(page);
  await chooseDevice(page, 'Camera', 'fake_device_2');
  await expect.poll(() => selfCameraLabel(page)).toBe('fake_device_2');
  await chooseDevice(page, 'Microphone', 'Fake Audio Input 2');
  await page.getByRole('button', { name: 'Turn off microphone' }).click();
  await page.getByRole('button', { name: 'Turn off camera' }).click();
  await expect(page.getByRole('button', { name: 'Turn on camera' })).toBeVisible();

  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('button', { name: 'Turn on camera' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Turn on microphone' })).toBeVisible();
  const selected = (menu: string) =>
    page.getByLabel(menu, { exact: true }).evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.text);
  await expect.poll(() => selected('Microphone')).toBe('Fake Audio Input 2');
  await expect.poll(() => selected('Camera')).toBe('fake_device_2');
  // The camera stays off after the reload: nothing opened it.
  expect((await cameraTrackStates(page)).filter((s) => s === 'live')).toEqual([]);

  await page.getByRole('button', { name: 'Turn on camera' }).click();
  await expect.poll(() => selfCameraLabel(page)).toBe('fake_device_2');
  await expectPlayingSelfView(page);
  await context.close();
});
