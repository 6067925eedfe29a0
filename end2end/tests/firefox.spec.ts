import puppeteer, { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';
import { test, expect } from './fixtures';
import { relayURL } from '../playwright.config';
import { expectPlayingVideos, join, newRoom, selectedLocalCandidateTypes, trackPeerConnections } from './calls';

// Firefox in calls: Debian's firefox-esr, driven headless over WebDriver BiDi by
// puppeteer-core (Playwright's Firefox is a patched build that cannot be installed
// here), with fake camera and microphone and no permission prompt.

const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

const firefoxes: FirefoxBrowser[] = [];
test.afterEach(async () => {
  for (const firefox of firefoxes.splice(0)) await firefox.close();
});

/** A Firefox participant in `room`, joined under `name`. */
async function joinInFirefox(room: string, name: string): Promise<FirefoxPage> {
  const firefox = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      // The suite's coturn relays on 127.0.0.1, and Firefox leaves out loopback
      // addresses from ICE unless told (a real relay has a public address).
      'media.peerconnection.ice.loopback': true,
    },
  });
  firefoxes.push(firefox);
  const page = await firefox.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.evaluateOnNewDocument(trackPeerConnections);
  await page.goto(room);
  await expect
    .poll(async () => {
      expect(errors, 'the page starts without errors').toEqual([]);
      return page.evaluate(() => (window as any).__parley_hydrated === true);
    }, { timeout: 30_000, message: 'the page hydrates in Firefox' })
    .toBe(true);
  const nameField = await page.evaluateHandle(() =>
    [...document.querySelectorAll('label')].find((l) => l.textContent?.includes('Your name'))?.control ?? null,
  );
  await nameField.asElement()!.type(name);
  await page.evaluate(() =>
    ([...document.querySelectorAll('button')].find((b) => b.textContent?.includes('Join now')) as HTMLButtonElement).click(),
  );
  return page;
}

/** Waits until Firefox shows `count` remote videos whose time advances. */
async function expectPlayingInFirefox(page: FirefoxPage, count: number) {
  const times = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('.tile.remote video')].map((v) => {
        const video = v as HTMLVideoElement;
        return video.videoWidth > 0 ? video.currentTime : 0;
      }),
    );
  await expect.poll(async () => (await times()).filter((t) => t > 0).length, { timeout: 45_000 }).toBe(count);
  const before = await times();
  await expect.poll(async () => (await times()).every((t, i) => t > before[i]), { timeout: 10_000 }).toBe(true);
}

/** The local candidate type of each selected pair (Firefox marks it `selected`). */
async function firefoxSelectedLocalTypes(page: FirefoxPage): Promise<string[]> {
  return page.evaluate(async () => {
    const types: string[] = [];
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s: any) => {
        if (s.type === 'candidate-pair' && s.selected) types.push(stats.get(s.localCandidateId)?.candidateType);
      });
    }
    return types;
  });
}

test('a Chromium and a Firefox participant see each other', async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  const fox = await joinInFirefox(room, 'Fox');
  await expectPlayingVideos(ada.page, 1, 45_000);
  await expectPlayingInFirefox(fox, 1);
  await ada.context.close();
});

test('two Firefox participants see each other', async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const room = await newRoom(browser, baseURL!);
  const fox = await joinInFirefox(room, 'Fox');
  const vixen = await joinInFirefox(room, 'Vixen');
  await expectPlayingInFirefox(fox, 1);
  await expectPlayingInFirefox(vixen, 1);
});

test('a relay-only call between Chromium and Firefox goes through coturn', async ({ browser }) => {
  test.setTimeout(120_000);
  const room = await newRoom(browser, relayURL);
  const ada = await join(browser, room, 'Ada');
  const fox = await joinInFirefox(room, 'Fox');
  await expectPlayingVideos(ada.page, 1, 45_000);
  await expectPlayingInFirefox(fox, 1);
  expect(await selectedLocalCandidateTypes(ada.page)).toEqual(['relay']);
  expect(await firefoxSelectedLocalTypes(fox)).toEqual(['relay']);
  await ada.context.close();
});
