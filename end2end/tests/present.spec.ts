import { test, expect, Page } from './fixtures';
import { expectPlayingVideos, join, newRoom } from './calls';

// Presenting a screen: the others see it large on the stage, labelled with who
// presents, beside the people; it ends everywhere when it stops, by Parley's button
// or the browser's own "Stop sharing"; someone who joins late sees it running.

/** Keeps every captured screen in `window.__screens`, so a test can end one as the
 * browser's "Stop sharing" does. */
const keepScreens = () => {
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
  const real = devices.getDisplayMedia.bind(devices);
  (window as any).__screens = [];
  devices.getDisplayMedia = async (constraints?: DisplayMediaStreamOptions) => {
    const stream = await real(constraints);
    (window as any).__screens.push(stream);
    return stream;
  };
};

/** Asserts that `page` shows the presentation `label`, on the stage and playing. */
async function expectPresentation(page: Page, label: string) {
  const figure = page.getByRole('figure', { name: label });
  await expect(figure).toBeVisible();
  const video = figure.locator('video');
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 })
    .toBeGreaterThan(0);
  const at = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeGreaterThan(at);
  // Large: wider than any person's tile, which sit in a strip beside it.
  const stage = await figure.boundingBox();
  const tile = await page.locator('.tile').first().boundingBox();
  expect(stage!.width).toBeGreaterThan(tile!.width);
}

test('a presentation reaches everyone, labelled, large; a late joiner sees it; it ends everywhere', async ({
  browser,
  baseURL,
}) => {
  // ~60 s on an idle 2-core machine, ~120 s with both cores busy.
  test.setTimeout(240_000);
  const started = Date.now();
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada', { scripts: [{ script: keepScreens }] });
  const bob = await join(browser, room, 'Bob');
  for (const who of [ada, bob]) await expectPlayingVideos(who.page, 1);

  await ada.page.getByRole('button', { name: 'Present now' }).click();
  await expect(ada.page.getByRole('button', { name: 'Stop presenting' })).toHaveAttribute('aria-pressed', 'true');
  await expectPresentation(ada.page, 'Your presentation');
  await expectPresentation(bob.page, 'Presentation by Ada');
  // A second video: Ada's camera still plays on her tile, from another stream.
  await expectPlayingVideos(bob.page, 1);
  const streams = await bob.page.evaluate(() =>
    [...document.querySelectorAll('video')].map((v) => ((v as HTMLVideoElement).srcObject as MediaStream)?.id),
  );
  expect(new Set(streams.filter(Boolean)).size, 'camera and presentation are different streams').toBe(
    streams.filter(Boolean).length,
  );

  const cleo = await join(browser, room, 'Cleo');
  await expectPlayingVideos(cleo.page, 2);
  await expectPresentation(cleo.page, 'Presentation by Ada');

  // Stopped with Parley's button: gone for everyone.
  await ada.page.getByRole('button', { name: 'Stop presenting' }).click();
  for (const who of [ada, bob, cleo]) await expect(who.page.locator('figure.presentation')).toHaveCount(0);

  // Two present at once; then Ada's ends from the browser (the track ends).
  await ada.page.getByRole('button', { name: 'Present now' }).click();
  await bob.page.getByRole('button', { name: 'Present now' }).click();
  await expectPresentation(cleo.page, 'Presentation by Ada');
  await expectPresentation(cleo.page, 'Presentation by Bob');
  await ada.page.evaluate(() => {
    const screens: MediaStream[] = (window as any).__screens;
    const track = screens[screens.length - 1].getVideoTracks()[0];
    track.stop();
    track.dispatchEvent(new Event('ended')); // what the browser's "Stop sharing" fires
  });
  for (const who of [bob, cleo]) {
    await expect(who.page.getByRole('figure', { name: 'Presentation by Ada' })).toHaveCount(0);
  }
  await expect(ada.page.getByRole('button', { name: 'Present now' })).toHaveAttribute('aria-pressed', 'false');
  await expectPresentation(ada.page, 'Presentation by Bob');
  // Everyone's cameras still play.
  for (const who of [ada, bob, cleo]) await expectPlayingVideos(who.page, 2);
  console.log(`presenting test: ${Date.now() - started} ms`);
  for (const who of [ada, bob, cleo]) await who.context.close();
});
