import { test, expect } from './fixtures';
import { relayURL } from '../playwright.config';
import {
  callIdentity,
  expectPlayingVideos,
  join,
  newRoom,
  readCallIdentity,
  readVideoTimes,
  selectedLocalCandidateTypes,
  videoTimes,
} from './calls';
import {
  expectPlayingInFirefox,
  FirefoxBrowser,
  FirefoxPage,
  firefoxSelectedPairs,
  joinInFirefox as joinIn,
  launchFirefox,
} from './firefox';
import { Parley, Proxy } from './network';

// Firefox in calls (see firefox.ts): with Chromium, with another Firefox, through the
// relay only, and riding out a server restart and a cut signaling connection.

const firefoxes: FirefoxBrowser[] = [];
test.afterEach(async () => {
  for (const firefox of firefoxes.splice(0)) await firefox.close();
});

/** A Firefox participant (a browser of its own) in `room`, joined under `name`. */
async function joinInFirefox(room: string, name: string): Promise<FirefoxPage> {
  // The suite's coturn relays on 127.0.0.1, and Firefox leaves out loopback
  // addresses from ICE unless told (a real relay has a public address).
  const firefox = await launchFirefox({ prefs: { 'media.peerconnection.ice.loopback': true } });
  firefoxes.push(firefox);
  return joinIn(firefox, room, name);
}

/** Whether Firefox shows the "Reconnecting" banner. */
async function reconnectingInFirefox(page: FirefoxPage): Promise<boolean> {
  return page.evaluate(() =>
    [...document.querySelectorAll('[role=alert]')].some(
      (alert) => alert.textContent?.includes('Reconnecting') && (alert as HTMLElement).checkVisibility(),
    ),
  );
}

/** Waits until Firefox's remote videos have all moved on from where they were. */
async function expectVideosAdvancingInFirefox(page: FirefoxPage) {
  const first = await page.evaluate(readVideoTimes);
  await expect
    .poll(async () => (await page.evaluate(readVideoTimes)).every((t, i) => t > first[i]), { timeout: 5_000 })
    .toBe(true);
}

/** Clicks one of Firefox's call buttons by its label, as a person would. */
async function clickInFirefox(page: FirefoxPage, label: string) {
  await page.evaluate((label) => {
    const button = document.querySelector(`button[aria-label="${label}"]`) as HTMLButtonElement | null;
    if (!button) throw new Error(`no button "${label}"`);
    button.click();
  }, label);
}

/** Whether Firefox shows the other person's microphone as off on their tile. */
async function remoteMicrophoneOffInFirefox(page: FirefoxPage): Promise<boolean> {
  return page.evaluate(() => document.querySelector('.tile.remote [role=img][aria-label="Microphone off"]') !== null);
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
  expect((await firefoxSelectedPairs(fox)).map((pair) => pair.local)).toEqual(['relay']);
  await ada.context.close();
});

test('a Chromium and a Firefox participant: the server restarts and the call goes on untouched', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const parley = new Parley(3953);
  await parley.start();
  try {
    const room = await newRoom(browser, parley.url);
    const ada = await join(browser, room, 'Ada');
    const fox = await joinInFirefox(room, 'Fox');
    await expectPlayingVideos(ada.page, 1, 45_000);
    await expectPlayingInFirefox(fox, 1);
    const before = { ada: await callIdentity(ada.page), fox: await fox.evaluate(readCallIdentity) };

    await parley.stop('SIGKILL');
    await expect(ada.page.getByRole('alert')).toContainText('Reconnecting');
    await expect.poll(() => reconnectingInFirefox(fox), { message: 'Firefox says it is reconnecting' }).toBe(true);
    const restartedAt = Date.now();
    await parley.start();
    await expect(ada.page.getByRole('alert')).toBeHidden({ timeout: 15_000 });
    await expect.poll(() => reconnectingInFirefox(fox), { timeout: 15_000 }).toBe(false);
    console.log(`server restart with Firefox → both resumed: ${Date.now() - restartedAt} ms after it was up`);

    // The same call: same people and connections, no video reloaded, pictures moving.
    expect(await callIdentity(ada.page)).toEqual(before.ada);
    expect(await fox.evaluate(readCallIdentity)).toEqual(before.fox);
    const first = await videoTimes(ada.page);
    await expect.poll(async () => (await videoTimes(ada.page)).every((t, i) => t > first[i])).toBe(true);
    await expectVideosAdvancingInFirefox(fox);

    // Signaling works both ways on the new connections.
    await ada.page.keyboard.press('Control+d');
    await expect.poll(() => remoteMicrophoneOffInFirefox(fox)).toBe(true);
    await clickInFirefox(fox, 'Turn off microphone');
    await expect(ada.page.locator('.tile.remote').getByRole('img', { name: 'Microphone off' })).toBeVisible();
    await ada.context.close();
  } finally {
    await parley.stop('SIGKILL');
    parley.removeDatabase();
  }
});

test("a Firefox participant's signaling connection cut by the network resumes the same call", async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const proxy = new Proxy(Number(new URL(baseURL!).port));
  const proxied = await proxy.start();
  try {
    const room = new URL(await newRoom(browser, baseURL!)).pathname;
    const ada = await join(browser, baseURL + room, 'Ada');
    const fox = await joinInFirefox(proxied + room, 'Fox');
    await expectPlayingVideos(ada.page, 1, 45_000);
    await expectPlayingInFirefox(fox, 1);
    const before = { ada: await callIdentity(ada.page), fox: await fox.evaluate(readCallIdentity) };

    const cutAt = Date.now();
    proxy.cutSignaling();
    await expect
      .poll(() => fox.evaluate(() => (window as any).__sockets.length), { message: 'Firefox opens a new socket' })
      .toBe(2);
    await expect.poll(() => reconnectingInFirefox(fox), { timeout: 15_000 }).toBe(false);
    console.log(`Firefox socket cut → resumed: ${Date.now() - cutAt} ms`);

    expect(await callIdentity(ada.page)).toEqual(before.ada);
    expect(await fox.evaluate(readCallIdentity)).toEqual(before.fox);
    await expectVideosAdvancingInFirefox(fox);
    // The resumed connection carries signaling: Firefox's switch reaches Ada.
    await clickInFirefox(fox, 'Turn off microphone');
    await expect(ada.page.locator('.tile.remote').getByRole('img', { name: 'Microphone off' })).toBeVisible();
    await ada.context.close();
  } finally {
    await proxy.stop();
  }
});
