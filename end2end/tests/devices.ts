import { expect, Page } from '@playwright/test';

// Helpers for the lobby and device tests. Chromium runs with three fake cameras
// (fake_device_0..2), three microphones and three speakers (playwright.config.ts).

/** Counts the offers the page sends over signaling, in window.__offersSent. */
export const countOffers = () => {
  (window as any).__offersSent = 0;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data: any) {
    try {
      const message = JSON.parse(String(data));
      if (message.type === 'signal' && message.signal?.kind === 'offer') {
        (window as any).__offersSent += 1;
      }
    } catch {
      // not JSON: not ours to count
    }
    return send.call(this, data);
  };
};

export async function offersSent(page: Page): Promise<number> {
  return page.evaluate(() => (window as any).__offersSent);
}

/** The labels of the tracks the page's live connections send, by kind. */
export async function sentTrackLabels(page: Page): Promise<{ audio: (string | null)[]; video: (string | null)[] }> {
  return page.evaluate(() => {
    const out = { audio: [] as (string | null)[], video: [] as (string | null)[] };
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      for (const t of pc.getTransceivers()) {
        if (t.currentDirection !== 'sendrecv' && t.currentDirection !== 'sendonly') continue;
        const kind = t.receiver.track.kind as 'audio' | 'video';
        out[kind].push(t.sender.track ? `${t.sender.track.label}:${t.sender.track.readyState}` : null);
      }
    }
    return out;
  });
}

/** The label of the camera track the self view (lobby or call) shows, or null. */
export async function selfCameraLabel(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const video = document.querySelector('.tile.self video') as HTMLVideoElement | null;
    const track = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    return track ? track.label : null;
  });
}

/** Every camera track the page ever opened (needs keepLocalStreams): their states. */
export async function cameraTrackStates(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    ((window as any).__localStreams as MediaStream[]).flatMap((s) =>
      s.getVideoTracks().map((t) => t.readyState),
    ),
  );
}

/** The video frames decoded so far from everyone, summed. */
export async function framesReceived(page: Page): Promise<number> {
  return page.evaluate(async () => {
    let frames = 0;
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
      });
    }
    return frames;
  });
}

/** Waits until the self view shows a camera picture that moves. */
export async function expectPlayingSelfView(page: Page) {
  const video = page.locator('.tile.self video');
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  const before = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeGreaterThan(before);
}

/** Chooses the option whose text is `label` in the menu labelled `menu`. */
export async function chooseDevice(page: Page, menu: string, label: string) {
  await page.getByLabel(menu, { exact: true }).selectOption({ label });
}
