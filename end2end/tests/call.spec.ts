import { test, expect, Browser, BrowserContext, Page } from '@playwright/test';
import { relayURL } from '../playwright.config';
import { hydrated, watchScriptErrors } from './pages';

// Calls between real Chromium contexts (each a separate participant) with Chromium's
// fake camera and microphone. Every RTCPeerConnection the page creates is remembered
// in window.__pcs so the tests can read getStats(), the way a person would look at
// chrome://webrtc-internals. window.__collisions counts offers that arrived while the
// connection had an offer of its own out (colliding offers, which a join should not
// cause: the newcomer offers first).

type Participant = { context: BrowserContext; page: Page; joinedAt: number };

const trackPeerConnections = () => {
  const Original = window.RTCPeerConnection;
  (window as any).__pcs = [];
  (window as any).__collisions = 0;
  (window as any).RTCPeerConnection = class extends Original {
    constructor(...args: any[]) {
      super(...(args as [RTCConfiguration]));
      (window as any).__pcs.push(this);
    }
    setRemoteDescription(description: RTCSessionDescriptionInit) {
      if (description?.type === 'offer' && this.signalingState === 'have-local-offer') {
        (window as any).__collisions += 1;
      }
      return super.setRemoteDescription(description);
    }
  };
};

/** Remembers every WebSocket the page opens in window.__sockets. */
const trackSockets = () => {
  const Original = window.WebSocket;
  (window as any).__sockets = [];
  (window as any).WebSocket = class extends Original {
    constructor(...args: any[]) {
      super(...(args as [string]));
      (window as any).__sockets.push(this);
    }
  };
};

/** Makes the camera refuse, as when a person clicks "Block" on the camera prompt. */
const blockCamera = () => {
  const devices = navigator.mediaDevices;
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
    if (constraints?.video) throw new DOMException('Permission denied', 'NotAllowedError');
    return real(constraints);
  };
};

/**
 * Drops the page's negotiationneeded handlers, so no connection starts negotiating
 * by itself: what a lost event or a stuck negotiation looks like.
 */
const dropNegotiationNeeded = () => {
  Object.defineProperty(RTCPeerConnection.prototype, 'onnegotiationneeded', {
    configurable: true,
    get: () => null,
    set: () => {},
  });
};

async function newRoom(browser: Browser, base: string): Promise<string> {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  const url = page.url();
  await context.close();
  return url;
}

async function join(
  browser: Browser,
  roomUrl: string,
  name: string,
  options: { blockCamera?: boolean; dropNegotiationNeeded?: boolean } = {},
): Promise<Participant> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await context.addInitScript(trackPeerConnections);
  await context.addInitScript(trackSockets);
  if (options.blockCamera) await context.addInitScript(blockCamera);
  if (options.dropNegotiationNeeded) await context.addInitScript(dropNegotiationNeeded);
  const page = await context.newPage();
  watchScriptErrors(page);
  page.on('console', (m) => {
    if (m.type() === 'warning' || m.type() === 'error') console.log(`[${name}] ${m.text()}`);
  });
  await page.goto(roomUrl);
  await hydrated(page);
  await page.getByLabel('Your name').fill(name);
  const joinedAt = Date.now();
  await page.getByRole('button', { name: 'Join now' }).click();
  await expect(page.getByRole('navigation', { name: 'Call controls' })).toBeVisible();
  return { context, page, joinedAt };
}

/**
 * Waits until `page` shows `count` remote videos that are really playing, and returns
 * when (Date.now()) the last of them showed its first frame.
 */
async function expectPlayingVideos(page: Page, count: number): Promise<number> {
  await expect(page.locator('.tile.remote')).toHaveCount(count);
  // Polled every 50 ms so the time of the first frame is close to exact.
  try {
    await page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('.tile.remote video')].filter(
          (v) => (v as HTMLVideoElement).videoWidth > 0,
        ).length === n,
      count,
      { polling: 50, timeout: 30_000 },
    );
  } catch (error) {
    // Say where each connection got stuck, so a failure here can be diagnosed.
    throw new Error(`${(error as Error).message}\nconnections: ${await connectionReport(page)}`);
  }
  const framesAt = Date.now();
  const before = await page.$$eval('.tile.remote video', (vs) =>
    vs.map((v) => (v as HTMLVideoElement).currentTime),
  );
  await page.waitForTimeout(700);
  const after = await page.$$eval('.tile.remote video', (vs) =>
    vs.map((v) => (v as HTMLVideoElement).currentTime),
  );
  after.forEach((t, i) => expect(t, 'video time advances').toBeGreaterThan(before[i]));
  return framesAt;
}

/** Each peer connection's states and inbound video, for failure messages. */
async function connectionReport(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const lines: string[] = [];
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      let video = 'no inbound video';
      const candidates = { local: 0, remote: 0 };
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          video = `video packets ${s.packetsReceived ?? 0}, frames ${s.framesDecoded ?? 0}`;
        }
        if (s.type === 'local-candidate') candidates.local += 1;
        if (s.type === 'remote-candidate') candidates.remote += 1;
      });
      lines.push(
        `[${pc.connectionState} ice=${pc.iceConnectionState} gathering=${pc.iceGatheringState}` +
          ` signaling=${pc.signalingState}` +
          ` local=${pc.localDescription?.type ?? 'none'} remote=${pc.remoteDescription?.type ?? 'none'}` +
          ` candidates local=${candidates.local} remote=${candidates.remote}` +
          ` ${video}]`,
      );
    }
    return lines.join(' ');
  });
}

/** Inbound RTP streams across the page's live peer connections. */
async function inbound(page: Page) {
  return page.evaluate(async () => {
    const out: { kind: string; packets: number; frames: number }[] = [];
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp') {
          out.push({ kind: s.kind, packets: s.packetsReceived ?? 0, frames: s.framesDecoded ?? 0 });
        }
      });
    }
    return out;
  });
}

async function expectAudioArriving(page: Page) {
  const packets = async () =>
    (await inbound(page)).filter((s) => s.kind === 'audio').reduce((n, s) => n + s.packets, 0);
  await expect.poll(packets, { timeout: 20_000 }).toBeGreaterThan(0);
  const first = await packets();
  await expect.poll(packets, { timeout: 10_000 }).toBeGreaterThan(first);
}

/** The local candidate type of each live connection's selected pair. */
async function selectedLocalCandidateTypes(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const types: string[] = [];
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      let pair: any;
      stats.forEach((s: any) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      if (pair) types.push(stats.get(pair.localCandidateId)?.candidateType);
    }
    return types;
  });
}

/** How many offers collided with one of the page's own. */
async function collisions(page: Page): Promise<number> {
  return page.evaluate(() => (window as any).__collisions);
}

function reportFirstFrame(label: string, who: Participant, framesAt: number) {
  console.log(`join → first remote frame (${label}): ${framesAt - who.joinedAt} ms`);
}

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
  watchScriptErrors(again);
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
  await expect(shy.page.getByRole('status')).toContainText('camera is unavailable or blocked');
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

test('a dropped signaling connection comes back by itself, and so does the call', async ({
  browser,
  baseURL,
}) => {
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  await expectPlayingVideos(bob.page, 1);
  await expectPlayingVideos(ada.page, 1);

  // Bob's signaling connection closes under the page, as when the network drops.
  await bob.page.evaluate(() => (window as any).__sockets.at(-1).close());
  await expect(bob.page.getByRole('alert')).toContainText('Reconnecting');
  await expect(bob.page.getByRole('alert')).toBeHidden();
  expect(await bob.page.evaluate(() => (window as any).__sockets.length)).toBe(2);

  // Both see and hear each other again, with no leftover tile for Bob's old connection.
  for (const who of [ada, bob]) await expectPlayingVideos(who.page, 1);
  await expect(ada.page.locator('.tile.remote .name')).toHaveText('Bob');
  await expect(bob.page.locator('.tile.remote .name')).toHaveText('Ada');
  await expectAudioArriving(ada.page);
  await expectAudioArriving(bob.page);
  await ada.context.close();
  await bob.context.close();
});
