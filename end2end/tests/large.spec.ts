import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { join, newRoom } from './calls';
import { Parley } from './network';

// A meeting of 25: three people in Chromium and 22 synthetic participants from
// parley-load --media (str0m, sending a real VP8 clip in three simulcast layers and
// Opus), all through the server's forwarding unit.

const SYNTHETIC = 22;
/** The server's default video upload budget (--video-upload-kbps). */
const BUDGET_KBPS = 2500;

/** In the page: frames shown so far on each remote tile whose box is on the screen. */
const visibleTileFrames = () =>
  [...document.querySelectorAll('.tile.remote')]
    .filter((tile) => {
      const box = tile.getBoundingClientRect();
      return box.height > 0 && box.bottom > 0 && box.top < window.innerHeight;
    })
    .map((tile) => {
      const video = tile.querySelector('video') as HTMLVideoElement | null;
      return video ? video.getVideoPlaybackQuality().totalVideoFrames : -1;
    });

/** In the page: each camera layer it sends, for failure messages. */
const cameraLayersSent = () =>
  Promise.all(
    ((window as any).__pcs as RTCPeerConnection[])
      .filter((pc) => pc.connectionState !== 'closed')
      .map((pc) => pc.getStats()),
  ).then((reports) => {
    const layers: string[] = [];
    for (const report of reports) {
      report.forEach((s: any) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          layers.push(`${s.rid ?? '-'} ${s.frameHeight ?? 0}p ${s.framesSent ?? 0} frames ${s.active === false ? 'inactive' : ''} ${s.qualityLimitationReason ?? ''}`);
        }
      });
    }
    return layers.join(', ');
  });

/** In the page: each video arriving, for failure messages. */
const videoArriving = () =>
  Promise.all(
    ((window as any).__pcs as RTCPeerConnection[])
      .filter((pc) => pc.connectionState !== 'closed')
      .map((pc) => pc.getStats()),
  ).then((reports) => {
    const videos: string[] = [];
    for (const report of reports) {
      report.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          videos.push(
            `mid ${s.mid}: ${s.frameHeight ?? 0}p decoded ${s.framesDecoded ?? 0} (keyframes ${s.keyFramesDecoded ?? 0})` +
              ` packets ${s.packetsReceived ?? 0} lost ${s.packetsLost ?? 0} pli ${s.pliCount ?? 0} nack ${s.nackCount ?? 0}`,
          );
        }
      });
    }
    return videos.join('; ');
  });

/** Video bytes the page sent, over every connection. */
const videoBytesSent = (page: Page) =>
  page.evaluate(async () => {
    let sent = 0;
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') sent += s.bytesSent ?? 0;
      });
    }
    return sent;
  });

test('a meeting of 25 (3 in Chromium, 22 from parley-load): the real pages see every visible tile playing through one connection, upload within the budget, and the server figures are printed', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const loadgen = path.resolve(__dirname, '../../target/release/parley-load');
  expect(fs.existsSync(loadgen), `${loadgen} is built (cargo build --release -p loadgen)`).toBe(true);
  const parley = new Parley(3954, [
    '--sfu-listen', '127.0.0.1:3964',
    '--mesh-limit', '3',
    '--max-participants', '30',
    '--metrics-listen', '127.0.0.1:3965',
  ]);
  await parley.start();
  let load: ReturnType<typeof spawn> | undefined;
  let report = '';
  try {
    const room = await newRoom(browser, parley.url);
    const code = new URL(room).pathname.split('/').pop()!;
    const people = [];
    for (const name of ['Ada', 'Bob', 'Cy']) people.push(await join(browser, room, name));
    for (const person of people) await person.page.setViewportSize({ width: 1280, height: 720 });

    // 22 more join from parley-load; it measures for 30 s once all have settled.
    load = spawn(
      loadgen,
      [
        '--media', '--url', parley.url, '--meeting', code, '--clients', String(SYNTHETIC),
        '--warmup-seconds', '10', '--seconds', '30', '--tile-height', '0',
        '--server-pid', String(parley.pid), '--metrics-url', 'http://127.0.0.1:3965/metrics',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    load.stdout!.on('data', (chunk) => (report += chunk));
    const exited = new Promise<number | null>((resolve) => load!.once('exit', (status) => resolve(status)));

    for (const person of people) {
      await expect(person.page.locator('.tile.remote'), 'everyone has a tile').toHaveCount(2 + SYNTHETIC, {
        timeout: 60_000,
      });
    }
    for (const [i, person] of people.entries()) {
      // Every tile on the screen plays: its frames advance, through one connection.
      await expect
        .poll(
          async () => {
            const before = await person.page.evaluate(visibleTileFrames);
            await person.page.waitForTimeout(2_000);
            const after = await person.page.evaluate(visibleTileFrames);
            return before.length > 0 && after.every((count, tile) => count > before[tile]);
          },
          { message: `every visible tile plays on page ${i + 1}`, timeout: 30_000 },
        )
        .toBe(true)
        .catch(async (error) => {
          const sending = await Promise.all(people.map((p) => p.page.evaluate(cameraLayersSent)));
          throw new Error(
            `${error.message}\ntile frames: ${await person.page.evaluate(visibleTileFrames)}` +
              `\ncameras sent (per page): ${sending.join(' | ')}\nvideo arriving: ${await person.page.evaluate(videoArriving)}`,
          );
        });
      const visible = (await person.page.evaluate(visibleTileFrames)).length;
      console.log(`page ${i + 1}: ${visible} tiles on the screen, all playing`);
      // Once the move from peer-to-peer is over, one connection: to the server.
      await expect
        .poll(
          () =>
            person.page.evaluate(
              () => (window as any).__pcs.filter((pc: RTCPeerConnection) => pc.connectionState !== 'closed').length,
            ),
          { message: 'one connection, to the server', timeout: 30_000 },
        )
        .toBe(1);
    }

    // Each page's camera upload over 10 s stays within the budget.
    const before = await Promise.all(people.map((person) => videoBytesSent(person.page)));
    await people[0].page.waitForTimeout(10_000);
    const after = await Promise.all(people.map((person) => videoBytesSent(person.page)));
    const pcs = await Promise.all(
      people.map((person) =>
        person.page.evaluate(() =>
          ((window as any).__pcs as RTCPeerConnection[]).map((pc) => pc.connectionState).join(','),
        ),
      ),
    );
    console.log(`connections: ${pcs.join(' | ')}; sent before ${before.join(',')}, after ${after.join(',')}`);
    const upload = after.map((bytes, i) => bytes - before[i]);
    console.log(`video upload over 10 s in a meeting of 25: ${upload.join(', ')} bytes (budget ${(BUDGET_KBPS * 10 * 1000) / 8})`);
    for (const bytes of upload) {
      expect(bytes, 'the camera goes up').toBeGreaterThan(10_000);
      expect(bytes, 'within the budget').toBeLessThanOrEqual((BUDGET_KBPS * 10 * 1000) / 8);
    }

    // parley-load ends by itself and prints the server's figures.
    const status = await exited;
    console.log(report);
    expect(status, 'parley-load finished cleanly (no errors)').toBe(0);
    expect(report).toMatch(/server CPU: .* us per datagram sent/);
    expect(report).toMatch(/forwarding delay video: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    for (const person of people) await person.context.close();
  } finally {
    if (load?.exitCode === null) {
      load.kill('SIGKILL');
      console.log(`parley-load, stopped:\n${report}`);
    }
    await parley.stop('SIGKILL');
    parley.removeDatabase();
  }
});
