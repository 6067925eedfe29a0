// The frame watch: how long the remote videos on a page stand still.
import type { Page } from '@playwright/test';

/** A still picture the watch noted: whose tile, from when to when (Date.now()). */
export type Still = { who: string; from: number; to: number };
/** A time (Date.now()) in which the page's own camera surely gave no frame. */
export type CameraSilence = { from: number; to: number };

/** What the watch saw on one page. */
export type FrameWatch = {
  /** The longest time (ms) any remote video stood still, looked at every 50 ms. */
  gap: number;
  /** How many times it looked. */
  samples: number;
  /** The longest the page's own main thread stood still (ms): the looks came late. */
  stall: number;
  /** The longest gap (ms) between frames presented (see startFrameWatch). */
  shown: number;
  /** Every still picture of 300 ms or more. */
  stills: Still[];
  /** When the page's own camera gave no frames (100 ms or more). */
  cameraSilences: CameraSilence[];
  /** How many times the watch read its own camera's frame count (0: it cannot). */
  cameraLooks: number;
};

/** In the page (any browser): starts watching every remote video for a picture that
 * stands still. Each new frame shown is noticed with requestVideoFrameCallback (where a
 * browser lacks it, by getVideoPlaybackQuality's frame count); every 50 ms the watch
 * notes how long each video has gone without one. (A live video's currentTime is no
 * measure: it runs on while no frame comes.)
 *
 * Both are noticed on the page's main thread, so a main thread standing still (a busy
 * machine) reads as a still picture even while the compositor goes on showing frames.
 * The watch also keeps `shown`: the longest gap between the times the frame callbacks
 * say frames were presented, where the callback saw several presented at once taken
 * as evenly spread (an estimate, and only where requestVideoFrameCallback is).
 *
 * It also notes when the page's own camera gave no frames (its track's frame count,
 * where the browser has `MediaStreamTrack.stats`): a picture no camera took is still
 * on every screen, however the call carries it. */
export const startFrameWatch = ({ fromFirstFrame = false, onlyPresent = false } = {}) => {
  const STILL_NOTED_MS = 300;
  const SILENCE_NOTED_MS = 100;
  const w = window as any;
  clearInterval(w.__frameWatch);
  const watch = {
    gap: 0,
    samples: 0,
    running: true,
    stall: 0,
    lastTick: performance.now(),
    shown: 0,
    stills: [] as { who: string; from: number; to: number }[],
    cameraSilences: [] as { from: number; to: number }[],
    cameraLooks: 0,
    finish: () => {},
  };
  if (w.__frameWatchState) w.__frameWatchState.running = false;
  w.__frameWatchState = watch;
  const lastFrame = new Map<HTMLVideoElement, { at: number; frames: number }>();
  // With onlyPresent, the videos on the page now (and no tile that comes later).
  const present = new Set(document.querySelectorAll('.tile.remote video'));
  const frameCount = (video: HTMLVideoElement) => video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
  const noteStill = (video: HTMLVideoElement, since: number, now: number) => {
    if (now - since < STILL_NOTED_MS) return;
    const who = video.closest('.tile')?.querySelector('.name')?.textContent ?? '?';
    const to = Date.now() - (performance.now() - now);
    watch.stills.push({ who, from: Math.round(to - (now - since)), to: Math.round(to) });
  };
  const follow = (video: HTMLVideoElement) => {
    // From its first frame on, with fromFirstFrame (a tile that just came has none).
    const waitForFirst = fromFirstFrame && video.videoWidth === 0;
    lastFrame.set(video, { at: waitForFirst ? Infinity : performance.now(), frames: frameCount(video) });
    if (!('requestVideoFrameCallback' in video)) return;
    let presented: { at: number; frames: number } | null = null;
    const onFrame = (_now: number, frame?: { presentationTime?: number; presentedFrames?: number }) => {
      const seen = lastFrame.get(video)!;
      const now = performance.now();
      noteStill(video, seen.at, now);
      seen.at = now;
      if (watch.running) video.requestVideoFrameCallback(onFrame);
      const at = frame?.presentationTime;
      const frames = frame?.presentedFrames;
      if (typeof at !== 'number' || typeof frames !== 'number') return;
      if (presented) {
        // (A count that went back: the element started over, one gap.)
        const count = frames > presented.frames ? frames - presented.frames : 1;
        watch.shown = Math.max(watch.shown, (at - presented.at) / count);
      }
      presented = { at, frames };
    };
    video.requestVideoFrameCallback(onFrame);
  };
  // The camera's frame count, as last looked at: it was surely silent from the look
  // that saw it change (`changedAt`) to the last look that saw it the same (`sameAt`).
  const camera = { frames: -1, changedAt: 0, sameAt: 0 };
  const noteSilence = () => {
    if (camera.frames >= 0 && camera.sameAt - camera.changedAt >= SILENCE_NOTED_MS) {
      watch.cameraSilences.push({ from: camera.changedAt, to: camera.sameAt });
    }
  };
  const lookAtCamera = () => {
    const self = document.querySelector('.tile.self video') as HTMLVideoElement | null;
    const track = (self?.srcObject as MediaStream | null)?.getVideoTracks()[0] as any;
    const frames = track?.stats?.totalFrames;
    if (typeof frames !== 'number') return;
    watch.cameraLooks += 1;
    const now = Date.now();
    if (frames !== camera.frames) {
      noteSilence();
      camera.frames = frames;
      camera.changedAt = now;
    }
    camera.sameAt = now;
  };
  watch.finish = () => {
    const now = performance.now();
    for (const [video, seen] of lastFrame) {
      if (seen.at !== Infinity) noteStill(video, seen.at, now);
    }
    noteSilence();
  };
  w.__frameWatch = setInterval(() => {
    const now = performance.now();
    // How late this look is: the page's own main thread standing still (a busy
    // machine), which delays the frame callbacks too.
    watch.stall = Math.max(watch.stall, now - watch.lastTick - 50);
    watch.lastTick = now;
    watch.samples += 1;
    lookAtCamera();
    for (const element of document.querySelectorAll('.tile.remote video')) {
      const video = element as HTMLVideoElement;
      if (onlyPresent && !present.has(video)) continue;
      const seen = lastFrame.get(video);
      if (!seen) {
        follow(video);
        continue;
      }
      if (!('requestVideoFrameCallback' in video)) {
        const frames = frameCount(video);
        if (frames !== seen.frames) {
          noteStill(video, seen.at, now);
          seen.frames = frames;
          seen.at = now;
        }
      }
      if (seen.at !== Infinity) watch.gap = Math.max(watch.gap, now - seen.at);
    }
  }, 50);
};

/** In the page (any browser): stops the watch startFrameWatch began, and tells what it
 * saw (a FrameWatch). */
export const stopFrameWatch = () => {
  const w = window as any;
  clearInterval(w.__frameWatch);
  const watch = w.__frameWatchState;
  watch.running = false;
  watch.finish();
  return {
    gap: Math.round(watch.gap),
    samples: watch.samples,
    stall: Math.round(watch.stall),
    shown: Math.round(watch.shown),
    stills: watch.stills,
    cameraSilences: watch.cameraSilences,
    cameraLooks: watch.cameraLooks,
  };
};

/** Starts watching every remote video on the page for frames that stop advancing. */
export async function watchFrames(page: Page, options: { fromFirstFrame?: boolean; onlyPresent?: boolean } = {}) {
  await page.evaluate(startFrameWatch, options);
}

/** What the watch saw since watchFrames: the longest time (ms) any remote video stood
 * still, and more. */
export async function longestFrameGap(page: Page): Promise<FrameWatch> {
  return page.evaluate(stopFrameWatch);
}

/** The longest of `stills` (ms) once the times their sender's camera gave no frame are
 * taken out (`silences`, by the sender's name): what the call itself left still. */
export function longestStillOfTheCall(stills: Still[], silences: Map<string, CameraSilence[]>): number {
  let longest = 0;
  for (const still of stills) {
    let silent = 0;
    for (const silence of silences.get(still.who) ?? []) {
      silent += Math.max(0, Math.min(still.to, silence.to) - Math.max(still.from, silence.from));
    }
    longest = Math.max(longest, still.to - still.from - silent);
  }
  return longest;
}
