import { expect, Browser, BrowserContext, Page } from '@playwright/test';
import { hydrated } from './pages';

// Calls between real Chromium contexts (each a separate participant) with Chromium's
// fake camera and microphone, shared by the call tests. Every RTCPeerConnection the
// page creates is remembered in window.__pcs so the tests can read getStats(), the
// way a person would look at chrome://webrtc-internals; window.__closedPcs counts
// those closed. window.__collisions counts offers that arrived while the connection
// had an offer of its own out (colliding offers, which a join should not cause: the
// newcomer offers first). window.__loadstarts counts `loadstart` events on remote
// videos: a <video> given a stream again, which blanks the picture.

export type Participant = { context: BrowserContext; page: Page; joinedAt: number };

export const trackPeerConnections = () => {
  const Original = window.RTCPeerConnection;
  (window as any).__pcs = [];
  (window as any).__collisions = 0;
  (window as any).__closedPcs = 0;
  (window as any).__loadstarts = 0;
  document.addEventListener(
    'loadstart',
    (event) => {
      if ((event.target as Element).closest?.('.tile.remote')) (window as any).__loadstarts += 1;
    },
    true,
  );
  (window as any).RTCPeerConnection = class extends Original {
    constructor(...args: any[]) {
      super(...(args as [RTCConfiguration]));
      (window as any).__pcs.push(this);
    }
    close() {
      (window as any).__closedPcs += 1;
      return super.close();
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
export const trackSockets = () => {
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
export const blockCamera = () => {
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
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
export const dropNegotiationNeeded = () => {
  Object.defineProperty(RTCPeerConnection.prototype, 'onnegotiationneeded', {
    configurable: true,
    get: () => null,
    set: () => {},
  });
};

export async function newRoom(browser: Browser, base: string): Promise<string> {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  const url = page.url();
  await context.close();
  return url;
}

type JoinOptions = {
  blockCamera?: boolean;
  dropNegotiationNeeded?: boolean;
  /** More init scripts, such as the fault injections in faults.ts. */
  scripts?: { script: (arg: any) => void; arg?: any }[];
  /** What to do in the lobby before joining (switch devices off, choose others). */
  inLobby?: (page: Page) => Promise<void>;
  /** The window's size (Playwright's default: 1280x720). */
  viewport?: { width: number; height: number };
};

/** A new participant (a browser context of its own) on the meeting's lobby, live. */
export async function openLobby(
  browser: Browser,
  roomUrl: string,
  name: string,
  options: JoinOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'], viewport: options.viewport });
  await context.addInitScript(trackPeerConnections);
  await context.addInitScript(trackSockets);
  if (options.blockCamera) await context.addInitScript(blockCamera);
  if (options.dropNegotiationNeeded) await context.addInitScript(dropNegotiationNeeded);
  for (const { script, arg } of options.scripts ?? []) await context.addInitScript(script, arg);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'warning' || m.type() === 'error') console.log(`[${name}] ${m.text()}`);
  });
  await page.goto(roomUrl);
  await hydrated(page);
  return { context, page };
}

export async function join(
  browser: Browser,
  roomUrl: string,
  name: string,
  options: JoinOptions = {},
): Promise<Participant> {
  const lobby = await openLobby(browser, roomUrl, name, options);
  return enterCall(lobby, name, options);
}

/** From a lobby openLobby opened: the name, then "Join now", into the call. */
export async function enterCall(
  { context, page }: { context: BrowserContext; page: Page },
  name: string,
  options: JoinOptions = {},
): Promise<Participant> {
  await page.getByLabel('Your name').fill(name);
  if (options.inLobby) await options.inLobby(page);
  const joinedAt = Date.now();
  await page.getByRole('button', { name: 'Join now' }).click();
  await expect(page.getByRole('navigation', { name: 'Call controls' })).toBeVisible();
  return { context, page, joinedAt };
}

/**
 * Waits until `page` shows `count` remote videos that are really playing, and returns
 * when (Date.now()) the last of them showed its first frame.
 */
export async function expectPlayingVideos(page: Page, count: number, timeout = 30_000): Promise<number> {
  await expect(page.locator('.tile.remote')).toHaveCount(count);
  // Polled every 50 ms so the time of the first frame is close to exact.
  try {
    await page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('.tile.remote video')].filter(
          (v) => (v as HTMLVideoElement).videoWidth > 0,
        ).length === n,
      count,
      { polling: 50, timeout },
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
export async function connectionReport(page: Page): Promise<string> {
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
    // And each remote tile's video: what it was given and whether it plays.
    for (const video of document.querySelectorAll('.tile.remote video') as NodeListOf<HTMLVideoElement>) {
      const peer = video.closest('.tile')?.getAttribute('data-peer');
      const stream = video.srcObject as MediaStream | null;
      const tracks = stream
        ? stream
            .getTracks()
            .map((t) => `${t.kind}:${t.readyState}${t.muted ? ':muted' : ''}${t.enabled ? '' : ':disabled'}:${t.id.slice(0, 8)}`)
            .join(',')
        : 'no stream';
      lines.push(
        `<video peer=${peer} width=${video.videoWidth} ready=${video.readyState} paused=${video.paused}` +
          ` error=${video.error?.code ?? 'none'} stream=${stream?.id.slice(0, 8) ?? 'none'} ${tracks}>`,
      );
    }
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      const tracks = pc.getReceivers().map((r) => `${r.track.kind}:${r.track.readyState}:${r.track.id.slice(0, 8)}`);
      lines.push(`{receivers ${tracks.join(',')}}`);
    }
    return lines.join(' ');
  });
}

/** Inbound RTP streams across the page's live peer connections. */
export async function inbound(page: Page) {
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

export async function expectAudioArriving(page: Page) {
  const packets = async () =>
    (await inbound(page)).filter((s) => s.kind === 'audio').reduce((n, s) => n + s.packets, 0);
  await expect.poll(packets, { timeout: 20_000 }).toBeGreaterThan(0);
  const first = await packets();
  await expect.poll(packets, { timeout: 10_000 }).toBeGreaterThan(first);
}

/** A live connection's selected candidate pair: the two types, how the local side
 * sends, and the two ends' addresses (a path that changes changes these). */
export type SelectedPair = {
  local: string;
  remote: string;
  protocol: string;
  relayProtocol: string | null;
  url: string | null;
  addresses: string;
};

/** The selected candidate pair of each live connection. */
export async function selectedPairs(page: Page): Promise<SelectedPair[]> {
  return page.evaluate(readSelectedPairs);
}

/** In the page (any browser): the selected candidate pair of each live connection.
 * Chromium names it in its `transport` stats; Firefox has none and marks the
 * `candidate-pair` itself `selected`. */
export const readSelectedPairs = async (): Promise<SelectedPair[]> => {
  const pairs: SelectedPair[] = [];
  for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
    if (pc.connectionState === 'closed') continue;
    const stats = await pc.getStats();
    let pair: any;
    stats.forEach((s: any) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) {
      stats.forEach((s: any) => {
        if (s.type === 'candidate-pair' && s.selected) pair = s;
      });
    }
    if (!pair) continue;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    pairs.push({
      local: local?.candidateType,
      remote: remote?.candidateType,
      protocol: local?.protocol,
      relayProtocol: local?.relayProtocol ?? null,
      url: local?.url ?? null,
      addresses: `${local?.address}:${local?.port} ${remote?.address}:${remote?.port}`,
    });
  }
  return pairs;
};

/** The local candidate type of each live connection's selected pair. */
export async function selectedLocalCandidateTypes(page: Page): Promise<string[]> {
  return (await selectedPairs(page)).map((pair) => pair.local);
}

/** How many offers collided with one of the page's own. */
export async function collisions(page: Page): Promise<number> {
  return page.evaluate(() => (window as any).__collisions);
}

/** What must not change while a call rides out a fault: who is who, how many
 * connections there are, and that none was closed or any video reloaded. */
export async function callIdentity(page: Page) {
  return page.evaluate(readCallIdentity);
}

/** In the page (any browser): what callIdentity compares. */
export const readCallIdentity = () => ({
  peers: [...document.querySelectorAll('.tile.remote')].map((t) => t.getAttribute('data-peer')),
  connections: (window as any).__pcs.length as number,
  closed: (window as any).__closedPcs as number,
  loadstarts: (window as any).__loadstarts as number,
});

/** In the page (any browser): how many frames each remote video has shown. */
export const tileFrames = () =>
  [...document.querySelectorAll('.tile.remote video')].map(
    (v) => (v as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames,
  );

/** The remote videos' playback positions. */
export async function videoTimes(page: Page): Promise<number[]> {
  return page.evaluate(readVideoTimes);
}

/** In the page (any browser): the remote videos' playback positions. */
export const readVideoTimes = () =>
  [...document.querySelectorAll('.tile.remote video')].map((v) => (v as HTMLVideoElement).currentTime);

export function reportFirstFrame(label: string, who: Participant, framesAt: number) {
  console.log(`join → first remote frame (${label}): ${framesAt - who.joinedAt} ms`);
}

