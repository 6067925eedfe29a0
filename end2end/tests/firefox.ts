import puppeteer, { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';
import { expect } from '@playwright/test';
import { isWasmPanic, reportPageError } from './fixtures';
import { readSelectedPairs, SelectedPair, trackPeerConnections, trackSockets } from './calls';

// Firefox participants: Debian's firefox-esr, driven headless over WebDriver BiDi by
// puppeteer-core (Playwright's Firefox is a patched build that cannot be installed
// here), with a fake camera and microphone and no permission prompt.

export type { FirefoxBrowser, FirefoxPage };

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

type FirefoxOptions = {
  /** A wrapper that starts Firefox somewhere else (the network lab's namespaces). */
  executablePath?: string;
  /** Where its WebDriver BiDi server listens (0: any port). */
  debuggingPort?: number;
  /** More preferences. */
  prefs?: Record<string, unknown>;
};

/** A headless Firefox. Every page it opens is watched as the suite's fixture watches
 * Chromium's (fixtures.ts): an uncaught error or a wasm panic fails the test. */
export async function launchFirefox(options: FirefoxOptions = {}): Promise<FirefoxBrowser> {
  const firefox = await puppeteer.launch({
    browser: 'firefox',
    executablePath: options.executablePath ?? FIREFOX,
    debuggingPort: options.debuggingPort,
    headless: true,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      ...options.prefs,
    },
  });
  const newPage = firefox.newPage;
  firefox.newPage = async (...args) => {
    const page = await newPage.apply(firefox, args);
    watchFirefoxPage(page);
    return page;
  };
  return firefox;
}

/** Firefox reports a WebSocket that cannot connect (the server restarting) as a
 * script error of its own, which WebDriver BiDi passes on like an uncaught one; it is
 * a network report, as Chromium's console line "WebSocket connection to … failed" is,
 * and the page's code handles the failure. */
const WEBSOCKET_REFUSED = /^Error: Firefox can.t establish a connection to the server at wss?:\/\//;

function watchFirefoxPage(page: FirefoxPage) {
  page.on('pageerror', (error) => {
    if (WEBSOCKET_REFUSED.test(String(error))) return;
    reportPageError(page, `Firefox ${page.url()}`, `uncaught ${String(error)}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && isWasmPanic(message.text())) {
      reportPageError(page, `Firefox ${page.url()}`, `wasm panic: ${message.text()}`);
    }
  });
}

/** Opens `room` in a new tab of `firefox` and joins under `name`. */
export async function joinInFirefox(firefox: FirefoxBrowser, room: string, name: string): Promise<FirefoxPage> {
  const page = await firefox.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.evaluateOnNewDocument(trackPeerConnections);
  await page.evaluateOnNewDocument(trackSockets);
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
export async function expectPlayingInFirefox(page: FirefoxPage, count: number, timeout = 45_000) {
  const times = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('.tile.remote video')].map((v) => {
        const video = v as HTMLVideoElement;
        return video.videoWidth > 0 ? video.currentTime : 0;
      }),
    );
  await expect.poll(async () => (await times()).filter((t) => t > 0).length, { timeout }).toBe(count);
  const before = await times();
  await expect.poll(async () => (await times()).every((t, i) => t > before[i]), { timeout: 10_000 }).toBe(true);
}

/** The selected candidate pair of each live connection. */
export async function firefoxSelectedPairs(page: FirefoxPage): Promise<SelectedPair[]> {
  return page.evaluate(readSelectedPairs);
}
