import { test, expect } from './fixtures';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hydrated } from './pages';

// The release binary as a self-hoster installs it: copied alone into an empty folder
// and started there with no flags. It carries the browser app and makes its database
// in the folder.
test('the release binary alone in an empty folder serves the app, compressed and cached', async ({ page }) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-alone-'));
  const binary = path.join(folder, 'parley');
  fs.copyFileSync(path.resolve(__dirname, '../../target/release/parley'), binary);
  fs.chmodSync(binary, 0o755);
  const port = 3970;
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['--listen', `127.0.0.1:${port}`], {
    cwd: folder,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await expect
      .poll(() => fetch(`${base}/healthz`).then((r) => r.ok, () => false), { timeout: 15_000 })
      .toBe(true);

    const assets: { url: string; status: number; encoding?: string; caching?: string }[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/pkg/')) {
        const headers = r.headers();
        assets.push({
          url: r.url(),
          status: r.status(),
          encoding: headers['content-encoding'],
          caching: headers['cache-control'],
        });
      }
    });
    await page.goto(`${base}/`);
    await hydrated(page);
    await page.getByRole('button', { name: 'New meeting' }).click();
    await expect(page).toHaveURL(/\/r\//);
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Join now' })).toBeVisible();
    expect(fs.existsSync(path.join(folder, 'parley.db'))).toBe(true);

    // The app's script, wasm and styles arrived brotli-compressed, under names that
    // carry the build's version, to be kept for good.
    for (const kind of ['.js', '.wasm', '.css']) {
      const asset = assets.find((a) => a.url.endsWith(kind));
      expect(asset, `a ${kind} file was loaded`).toBeTruthy();
      expect(asset!.url).toMatch(new RegExp(`/pkg/parley\\.[0-9a-f]{12}\\${kind}$`));
      expect(asset!.status).toBe(200);
      expect(asset!.encoding, asset!.url).toBe('br');
      expect(asset!.caching).toBe('public, max-age=31536000, immutable');
    }

    // A second visit, in a new tab, takes the wasm from the browser's cache.
    const second = await page.context().newPage();
    const cdp = await page.context().newCDPSession(second);
    await cdp.send('Network.enable');
    const wasmLoads: { fromCache: boolean; bytes?: number }[] = [];
    const wasmRequests = new Map<string, number>();
    cdp.on('Network.requestWillBeSent', (event) => {
      if (event.request.url.endsWith('.wasm')) wasmRequests.set(event.requestId, wasmLoads.push({ fromCache: false }) - 1);
    });
    cdp.on('Network.requestServedFromCache', (event) => {
      const at = wasmRequests.get(event.requestId);
      if (at !== undefined) wasmLoads[at].fromCache = true;
    });
    cdp.on('Network.responseReceived', (event) => {
      const at = wasmRequests.get(event.requestId);
      if (at !== undefined && event.response.fromDiskCache) wasmLoads[at].fromCache = true;
    });
    cdp.on('Network.loadingFinished', (event) => {
      const at = wasmRequests.get(event.requestId);
      if (at !== undefined) wasmLoads[at].bytes = event.encodedDataLength;
    });
    await second.goto(page.url());
    await hydrated(second);
    expect(wasmLoads.length).toBeGreaterThan(0);
    for (const load of wasmLoads) {
      expect(load.fromCache, JSON.stringify(wasmLoads)).toBe(true);
      expect(load.bytes ?? 0, JSON.stringify(wasmLoads)).toBeLessThan(1000);
    }
    await second.close();

    // Under its plain name, the wasm carries an ETag and is revalidated.
    const wasm = await page.request.get(`${base}/pkg/parley.wasm`, { headers: { 'accept-encoding': 'br' } });
    const etag = wasm.headers()['etag'];
    expect(etag).toBeTruthy();
    const again = await page.request.get(`${base}/pkg/parley.wasm`, { headers: { 'if-none-match': etag } });
    expect(again.status()).toBe(304);
    expect((await again.body()).length).toBe(0);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(folder, { recursive: true, force: true });
  }
});
