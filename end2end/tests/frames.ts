// The frame watch: how long the remote videos on a page stand still.
import type { Page } from '@playwright/test';

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
 * as evenly spread (an estimate, and only where requestVideoFrameCallback is). */
export const startFrameWatch = ({ fromFirstFrame = false, onlyPresent = false } = {}) => {
  const w = window as any;
  clearInterval(w.__frameWatch);
  const watch = { gap: 0, samples: 0, running: true, at: 0, stall: 0, lastTick: performance.now(), shown: 0 };
  if (w.__frameWatchState) w.__frameWatchState.running = false;
  w.__frameWatchState = watch;
  const lastFrame = new Map<HTMLVideoElement, { at: number; frames: number }>();
  // With onlyPresent, the videos on the page now (and no tile that comes later).
  const present = new Set(document.querySelectorAll('.tile.remote video'));
  const frameCount = (video: HTMLVideoElement) => video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
  const follow = (video: HTMLVideoElement) => {
    // From its first frame on, with fromFirstFrame (a tile that just came has none).
    const waitForFirst = fromFirstFrame && video.videoWidth === 0;
    lastFrame.set(video, { at: waitForFirst ? Infinity : performance.now(), frames: frameCount(video) });
    if (!('requestVideoFrameCallback' in video)) return;
    let presented: { at: number; frames: number } | null = null;
    const onFrame = (_now: number, frame?: { presentationTime?: number; presentedFrames?: number }) => {
      lastFrame.get(video)!.at = performance.now();
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
  w.__frameWatch = setInterval(() => {
    const now = performance.now();
    // How late this look is: the page's own main thread standing still (a busy
    // machine), which delays the frame callbacks too.
    watch.stall = Math.max(watch.stall, now - watch.lastTick - 50);
    watch.lastTick = now;
    watch.samples += 1;
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
          seen.frames = frames;
          seen.at = now;
        }
      }
      if (seen.at !== Infinity && now - seen.at > watch.gap) {
        watch.gap = now - seen.at;
        watch.at = Date.now();
      }
    }
  }, 50);
};

/** In the page (any browser): stops the watch startFrameWatch began, and tells the
 * longest time (ms) any remote video stood still, and how many times it looked. */
export const stopFrameWatch = () => {
  const w = window as any;
  clearInterval(w.__frameWatch);
  const watch = w.__frameWatchState as {
    gap: number;
    samples: number;
    running: boolean;
    at: number;
    stall: number;
    shown: number;
  };
  watch.running = false;
  // `at`: when (Date.now()) the longest still picture was last seen standing still.
  return {
    gap: Math.round(watch.gap),
    samples: watch.samples,
    at: watch.at,
    stall: Math.round(watch.stall),
    shown: Math.round(watch.shown),
  };
};

/** Starts watching every remote video on the page for frames that stop advancing. */
export async function watchFrames(page: Page, options: { fromFirstFrame?: boolean; onlyPresent?: boolean } = {}) {
  await page.evaluate(startFrameWatch, options);
}

/** The longest time (ms) any remote video stood still since watchFrames, and how
 * many times (every 50 ms) it looked. */
export async function longestFrameGap(
  page: Page,
): Promise<{ gap: number; samples: number; at: number; stall: number; shown: number }> {
  return page.evaluate(stopFrameWatch);
}
