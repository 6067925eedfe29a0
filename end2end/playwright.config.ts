import { defineConfig } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The suite starts its own Parley (built by `cargo leptos build --release`, as
// scripts/run.sh serves it; PARLEY_BIN=../target/debug/parley tests a debug build) on a
// loopback port, with a fresh SQLite file, and drives Debian's Chromium with a fake
// cameras and microphones.
const port = Number(process.env.PARLEY_E2E_PORT ?? 3900);
const baseURL = `http://127.0.0.1:${port}`;
// (PARLEY_BIN is taken from where the tests are run, such as end2end/.)
const parley = path.resolve(process.env.PARLEY_BIN ?? path.resolve(__dirname, '../target/release/parley'));
// Started as the README runs it, from the repository's root with no --site-root: the
// release binary serves the browser app built into it, and a debug build (which carries
// none) reads target/site from there.
const root = path.resolve(__dirname, '..');
const database = path.join(os.tmpdir(), `parley-e2e-${process.pid}.db`);
// A second Parley that sends every call through the test coturn (relay only).
const relayPort = port + 1;
export const relayURL = `http://127.0.0.1:${relayPort}`;
const relayDatabase = path.join(os.tmpdir(), `parley-e2e-relay-${process.pid}.db`);
// A third that sends every meeting through its forwarding unit (one UDP media port).
const sfuPort = port + 2;
export const sfuURL = `http://127.0.0.1:${sfuPort}`;
const sfuDatabase = path.join(os.tmpdir(), `parley-e2e-sfu-${process.pid}.db`);
// A fourth that moves meetings of more than three through its forwarding unit.
const movingPort = port + 3;
export const movingURL = `http://127.0.0.1:${movingPort}`;
const movingDatabase = path.join(os.tmpdir(), `parley-e2e-moving-${process.pid}.db`);
// coturn runs the hardened deploy/turnserver.conf with this suite's overrides after it.
const turnConfig = path.join(os.tmpdir(), `parley-e2e-turnserver-${process.pid}.conf`);
fs.writeFileSync(
  turnConfig,
  fs.readFileSync(path.resolve(__dirname, '../deploy/turnserver.conf'), 'utf8') +
    '\n' +
    fs.readFileSync(path.resolve(__dirname, 'turnserver.conf'), 'utf8'),
);
// Every test starts meetings from 127.0.0.1: lift the per-address limit on new meetings.
const manyMeetings = '--max-new-meetings-per-hour 100000';

export default defineConfig({
  testDir: './tests',
  // Deletes the servers' database files afterwards (teardown.ts).
  globalTeardown: './teardown.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  // A test.only left in would quietly run one test: never allowed, on CI or not.
  forbidOnly: true,
  // No retries: a test that fails once fails the run, so an intermittent fault shows.
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--use-fake-ui-for-media-stream',
        // Three cameras (fake_device_0..2), microphones and speakers, to choose from.
        '--use-fake-device-for-media-stream=device-count=3',
        // Presenting shares a fake 1280x720 screen without asking.
        '--auto-select-desktop-capture-source=Entire screen',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        // Extra flags for debugging, such as Chromium's own logging:
        // PARLEY_E2E_CHROMIUM_ARGS='--enable-logging=stderr --vmodule=*/webrtc/*=1'
        // (DEBUG=pw:browser shows what Chromium prints).
        ...(process.env.PARLEY_E2E_CHROMIUM_ARGS ?? '').split(' ').filter((arg) => arg !== ''),
      ],
    },
  },
  webServer: [
    {
      command: `"${parley}" --listen 127.0.0.1:${port} --database-url "sqlite:${database}" ${manyMeetings} --sfu-listen off`,
      cwd: root,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: `turnserver -c "${turnConfig}"`,
      port: 34781,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command:
        `"${parley}" --listen 127.0.0.1:${relayPort} --database-url "sqlite:${relayDatabase}" ${manyMeetings}` +
        ` --turn-url "turn:127.0.0.1:34781?transport=udp" --turn-secret parley-e2e-shared-secret --relay-only --sfu-listen off`,
      cwd: root,
      url: `${relayURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command:
        `"${parley}" --listen 127.0.0.1:${sfuPort} --database-url "sqlite:${sfuDatabase}" ${manyMeetings}` +
        ` --sfu-listen 127.0.0.1:0 --mesh-limit 0`,
      cwd: root,
      url: `${sfuURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command:
        `"${parley}" --listen 127.0.0.1:${movingPort} --database-url "sqlite:${movingDatabase}" ${manyMeetings}` +
        ` --sfu-listen 127.0.0.1:0 --mesh-limit 3`,
      cwd: root,
      url: `${movingURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
  ],
});
