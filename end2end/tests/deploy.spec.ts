import { test, expect } from './fixtures';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hydrated, watchScriptErrors } from './pages';

// The release binary as a self-hoster installs it: copied alone into an empty folder
// and started there with no flags. It carries the browser app and makes its database
// in the folder.
test('the release binary alone in an empty folder serves the app, compressed and revalidated', async ({ page }) => {
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

    const assets: { url: string; status: number; encoding?: string }[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/pkg/')) {
        assets.push({ url: r.url(), status: r.status(), encoding: r.headers()['content-encoding'] });
      }
    });
    watchScriptErrors(page);
    await page.goto(`${base}/`);
    await hydrated(page);
    await page.getByRole('button', { name: 'New meeting' }).click();
    await expect(page).toHaveURL(/\/r\//);
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Join now' })).toBeVisible();
    expect(fs.existsSync(path.join(folder, 'parley.db'))).toBe(true);

    // The app's script, wasm and styles arrived brotli-compressed.
    for (const kind of ['.js', '.wasm', '.css']) {
      const asset = assets.find((a) => a.url.endsWith(kind));
      expect(asset, `a ${kind} file was loaded`).toBeTruthy();
      expect(asset!.status).toBe(200);
      expect(asset!.encoding, asset!.url).toBe('br');
    }

    // A second visit asks whether the wasm changed and downloads nothing.
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
