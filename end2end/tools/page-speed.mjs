// Page delivery figures: bytes transferred and time until the page is interactive
// (the wasm client has hydrated it), for the home page and a meeting page, on loopback
// and on an emulated Fast 3G link (1.6 Mbit/s down, 750 kbit/s up, 150 ms latency,
// Chrome DevTools Protocol network emulation), first visit and second visit.
//
//   cd end2end && node tools/page-speed.mjs [path/to/parley] [-- more server flags]
//
// Starts the release binary (target/release/parley by default) on a loopback port with
// a scratch database, and drives Debian's Chromium (CHROMIUM_PATH to choose another).
// `-- --site-root ../target/site` serves the app from disk as earlier versions did:
// uncompressed, under plain names.
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dashes = process.argv.indexOf('--');
const ours = dashes === -1 ? process.argv.slice(2) : process.argv.slice(2, dashes);
const serverFlags = dashes === -1 ? [] : process.argv.slice(dashes + 1);
const binary = ours[0] ?? path.resolve(here, '../../target/release/parley');
const port = 3995;
const base = `http://127.0.0.1:${port}`;
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-page-speed-'));
const server = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--database-url', `sqlite:${folder}/parley.db`, ...serverFlags], {
  stdio: 'ignore',
});

const profiles = {
  loopback: null,
  'Fast 3G': { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8) | 0, uploadThroughput: (750e3 / 8) | 0 },
};

async function waitForServer() {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('Parley did not start');
}

/** Opens `url` in `page`; returns [bytes over the wire, ms until interactive]. */
async function visit(page, cdp, url) {
  let bytes = 0;
  const count = (event) => (bytes += event.encodedDataLength);
  cdp.on('Network.loadingFinished', count);
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => window.__parley_hydrated === true, null, { timeout: 60_000, polling: 10 });
  const interactive = Date.now() - started;
  await page.waitForLoadState('networkidle');
  cdp.off('Network.loadingFinished', count);
  return [bytes, interactive];
}

try {
  await waitForServer();
  const created = await fetch(`${base}/api/rooms/create`, {
    method: 'POST',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=Speed',
    redirect: 'manual',
  });
  const meeting = `${base}${created.headers.get('location')}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  });
  console.log('profile    page      visit   transferred  interactive');
  for (const [profile, conditions] of Object.entries(profiles)) {
    for (const [name, url] of [['home', `${base}/`], ['meeting', meeting]]) {
      // A fresh context per row: the first visit starts with an empty cache.
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
      for (const visitName of ['first', 'second']) {
        // The second visit is a new tab in the same browser: the cache is warm.
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.enable');
        if (conditions) await cdp.send('Network.emulateNetworkConditions', conditions);
        const [bytes, ms] = await visit(page, cdp, url);
        console.log(
          `${profile.padEnd(10)} ${name.padEnd(9)} ${visitName.padEnd(7)} ${(bytes / 1024).toFixed(0).padStart(8)} KB ${String(ms).padStart(8)} ms`,
        );
        await page.close();
      }
      await context.close();
    }
  }
  await browser.close();
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  fs.rmSync(folder, { recursive: true, force: true });
}
