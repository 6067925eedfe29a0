// Fault injection in the page: init scripts that wrap the browser's WebSocket and
// media APIs, to lose messages the way real networks do (and a small camera so that
// many pages fit on two cores).

import type { BrowserContext } from '@playwright/test';

/** Drops the first offer this page sends, before it reaches the socket. */
export const dropFirstOffer = () => {
  const send = WebSocket.prototype.send;
  let dropped = false;
  (window as any).__dropped = 0;
  WebSocket.prototype.send = function (data: any) {
    if (!dropped && typeof data === 'string' && data.includes('"kind":"offer"')) {
      dropped = true;
      (window as any).__dropped += 1;
      return;
    }
    return send.call(this, data);
  };
};

/** Drops one in three of the ICE candidates this page sends. */
export const dropSomeCandidates = () => {
  const send = WebSocket.prototype.send;
  let candidates = 0;
  (window as any).__dropped = 0;
  WebSocket.prototype.send = function (data: any) {
    if (typeof data === 'string' && data.includes('"kind":"candidate"')) {
      candidates += 1;
      if (candidates % 3 === 1) {
        (window as any).__dropped += 1;
        return;
      }
    }
    return send.call(this, data);
  };
};

/** Counts the error codes the server sends this page, in window.__errors. */
export const recordServerErrors = () => {
  (window as any).__errors = [];
  const Original = window.WebSocket;
  (window as any).WebSocket = class extends Original {
    constructor(...args: any[]) {
      super(...(args as [string]));
      this.addEventListener('message', (event: MessageEvent) => {
        const message = JSON.parse(event.data);
        if (message.type === 'error') (window as any).__errors.push(message.code);
      });
    }
  };
};

/**
 * Counts the camera and microphone tracks the page opened, and those it stopped itself,
 * in the tab's sessionStorage, which outlives the page: read them with
 * `localTrackCounts` after the page has gone (a link followed, a reload).
 */
export const countLocalTracks = () => {
  const bump = (key: string) =>
    sessionStorage.setItem(key, String(Number(sessionStorage.getItem(key) ?? 0) + 1));
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
    const stream = await real(constraints);
    for (const track of stream.getTracks()) {
      bump('parley-test-tracks-opened');
      const stop = track.stop.bind(track);
      let stopped = false;
      track.stop = () => {
        if (!stopped) bump('parley-test-tracks-stopped');
        stopped = true;
        stop();
      };
    }
    return stream;
  };
};

/** What `countLocalTracks` counted in this tab, on whichever page it shows now. */
export const localTrackCounts = () => ({
  opened: Number(sessionStorage.getItem('parley-test-tracks-opened') ?? 0),
  stopped: Number(sessionStorage.getItem('parley-test-tracks-stopped') ?? 0),
});

/** Keeps the page's camera and microphone streams in window.__localStreams. */
export const keepLocalStreams = () => {
  (window as any).__localStreams = [];
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
    const stream = await real(constraints);
    (window as any).__localStreams.push(stream);
    return stream;
  };
};

/** A small, slow fake camera (160x120 at 10 frames a second). */
export const smallCamera = () => {
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints?: MediaStreamConstraints) =>
    real(
      constraints?.video
        ? {
            ...constraints,
            video: {
              ...(typeof constraints.video === 'object' ? constraints.video : {}),
              width: 160,
              height: 120,
              frameRate: 10,
            },
          }
        : constraints,
    );
};

/**
 * The page asks for its camera only, as on a computer with no microphone: Parley
 * joins receiving audio but sending none.
 */
export const noMicrophone = () => {
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints?: MediaStreamConstraints) =>
    constraints?.video ? real({ video: constraints.video }) : real(constraints);
};

/**
 * The camera takes 400 ms to start, as many do on laptops: presses of the camera
 * button can come while it is still opening.
 */
export const slowCamera = () => {
  const devices = navigator.mediaDevices;
  if (!devices) return; // none on a new tab's about:blank, before the test navigates
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
    const stream = await real(constraints);
    if (constraints?.video) await new Promise((done) => setTimeout(done, 400));
    return stream;
  };
};

/** A slow link: every page of `context` gets its app (the wasm) `ms` after asking. */
export async function delayApp(context: BrowserContext, ms = 3_000) {
  await context.route('**/*.wasm', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    await route.continue();
  });
}
