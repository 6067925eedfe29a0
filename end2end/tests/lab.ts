// The network lab itself: lab/netlab.sh's namespaces, coturn and Parley inside its
// "internet", and browsers started inside a namespace (network-lab.spec.ts holds the
// calls made there). Every address exists only inside the namespaces. Needs root.

import { chromium, Browser } from '@playwright/test';
import { expect } from './fixtures';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { FIREFOX, FirefoxBrowser, launchFirefox } from './firefox';

const LAB = path.resolve(__dirname, '../lab/netlab.sh');
export const PARLEY = 'http://11.77.0.2:443';
const TURN_SECRET = 'parley-lab-shared-secret';

// The suite runs one test at a time (workers: 1), so one lab at a time.

/** The scripts that start a browser inside a namespace, removed at the end. */
const wrappers: string[] = [];
/** Removes the browser wrapper scripts (after all the lab's tests). */
export function removeWrappers() {
  for (const wrapper of wrappers.splice(0)) fs.rmSync(wrapper, { force: true });
}

/** The browsers started in the lab now, closed before it is taken down. */
const labBrowsers: { close(): Promise<unknown> }[] = [];

/** Builds the lab's `network`, starts coturn and Parley in it (giving out `turnUrls`,
 * with `parleyArgs` besides), runs `call`, and takes it all down again; when the call
 * fails, shows coturn's log. */
export async function inLab(
  label: string,
  network: string,
  turnUrls: string,
  call: (servers: LabServers) => Promise<void>,
  parleyArgs: string[] = [],
) {
  expect(process.getuid?.(), 'the network lab needs root (namespaces, iptables)').toBe(0);
  execFileSync(LAB, ['up', network], { stdio: 'inherit' });
  const servers = new LabServers();
  try {
    await servers.start(turnUrls, parleyArgs);
    await call(servers);
  } catch (error) {
    console.log(`[lab ${label}] coturn's log:\n${servers.coturnLog.split('\n').slice(-60).join('\n')}`);
    throw error;
  } finally {
    for (const browser of labBrowsers.splice(0)) await browser.close();
    await servers.stop();
    execFileSync(LAB, ['down'], { stdio: 'inherit' });
  }
}

/** coturn and Parley inside the lab's internet, stopped by PID. */
class LabServers {
  private processes: ChildProcess[] = [];
  private work = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-lab-'));

  async start(turnUrls: string, parleyArgs: string[]) {
    const certificate = path.join(this.work, 'turn.pem');
    const key = path.join(this.work, 'turn.key');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=turn.parley.test',
      '-keyout', key, '-out', certificate,
    ], { stdio: 'ignore' });
    // Browsers check a TURN server's certificate as they check a web site's: they are
    // told to accept this one's key (and only it).
    this.certificateKey = execFileSync('bash', ['-c',
      `openssl x509 -in '${certificate}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
    ]).toString().trim();
    const config = path.join(this.work, 'turnserver.conf');
    fs.writeFileSync(
      config,
      [
        // Its log to the system log is the one setting taken out: the test reads it.
        fs.readFileSync(path.resolve(__dirname, '../../deploy/turnserver.conf'), 'utf8')
          .split('\n')
          .filter((line) => line !== 'syslog' && line !== 'no-stdout-log')
          .join('\n'),
        // Nothing else: the lab's internet is a public block, so coturn's rules on where
        // it may relay apply to the participants' addresses as on a real server.
        '# --- the lab: listeners, certificate, secret ---',
        'listening-ip=11.77.0.1',
        'relay-ip=11.77.0.1',
        'external-ip=11.77.0.1',
        'listening-port=3478',
        'tls-listening-port=443',
        `cert=${certificate}`,
        `pkey=${key}`,
        `static-auth-secret=${TURN_SECRET}`,
        'realm=parley.test',
        'verbose',
        'log-file=stdout',
      ].join('\n'),
    );
    const coturn = this.spawn(['turnserver', '-c', config], 'pipe');
    coturn.stdout!.on('data', (chunk) => (this.coturnLog += chunk));
    const binary = path.resolve(process.env.PARLEY_BIN ?? path.resolve(__dirname, '../../target/release/parley'));
    this.spawn([
      binary,
      '--listen', '11.77.0.2:443',
      '--public-origin', PARLEY,
      '--database-url', `sqlite:${path.join(this.work, 'parley.db')}`,
      '--stun-url', 'stun:11.77.0.1:3478',
      '--turn-url', turnUrls,
      '--turn-secret', TURN_SECRET,
      ...parleyArgs,
    ]);
    await expect
      .poll(() => this.answers(), { timeout: 20_000, message: 'Parley and coturn start in the lab' })
      .toBe(true);
  }

  private spawn(command: string[], output: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
    // Parley serves the browser app built into it (a debug build reads target/site from
    // the repository's root, where it starts).
    const child = spawn('ip', ['netns', 'exec', 'plab-pub', ...command], {
      cwd: path.resolve(__dirname, '../..'),
      stdio: ['ignore', output, 'inherit'],
    });
    this.processes.push(child);
    return child;
  }

  private answers(): boolean {
    try {
      execFileSync('ip', ['netns', 'exec', 'plab-pub', 'bash', '-c',
        'exec 3<>/dev/tcp/11.77.0.2/443 && exec 4<>/dev/tcp/11.77.0.1/3478'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** What coturn printed (verbose), for a failure's report. */
  coturnLog = '';
  /** The SHA-256 of coturn's test certificate's public key, base64. */
  certificateKey = '';

  async stop() {
    for (const child of this.processes) child.kill('SIGKILL');
    this.processes = [];
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/** A Chromium running inside the lab namespace `ns`. */
export async function browserIn(ns: string, args: string[]): Promise<Browser> {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const wrapper = path.join(os.tmpdir(), `parley-lab-chromium-${process.pid}-${ns}`);
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec plab-${ns} "${chromiumPath}" "$@"\n`, { mode: 0o755 });
  wrappers.push(wrapper);
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: [...args, `--unsafely-treat-insecure-origin-as-secure=${PARLEY}`],
  });
  labBrowsers.push(browser);
  return browser;
}

/** A Firefox running inside the lab namespace `ns`. puppeteer reaches it over a
 * WebSocket on Firefox's loopback, which is the namespace's own: a forwarder here
 * carries each connection in (a relay process inside the namespace). */
export async function firefoxIn(ns: string): Promise<FirefoxBrowser> {
  const forwarder = net.createServer((socket) => {
    const inside = spawn('ip', ['netns', 'exec', `plab-${ns}`, process.execPath, '-e',
      `const s = require('net').connect(${port}, '127.0.0.1');
       process.stdin.pipe(s); s.pipe(process.stdout);
       s.on('error', () => process.exit()); s.on('close', () => process.exit());`]);
    socket.pipe(inside.stdin!);
    inside.stdout!.pipe(socket);
    socket.on('error', () => inside.kill());
    socket.on('close', () => inside.kill());
    inside.on('exit', () => socket.destroy());
  });
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  const port = (forwarder.address() as net.AddressInfo).port;
  const wrapper = path.join(os.tmpdir(), `parley-lab-firefox-${process.pid}-${ns}`);
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec plab-${ns} "${FIREFOX}" "$@"\n`, { mode: 0o755 });
  wrappers.push(wrapper);
  const firefox = await launchFirefox({
    executablePath: wrapper,
    debuggingPort: port,
    // The lab serves Parley over plain HTTP on its own address: treat it as secure,
    // as the Chromiums do with --unsafely-treat-insecure-origin-as-secure.
    prefs: { 'dom.securecontext.allowlist': new URL(PARLEY).hostname },
  });
  labBrowsers.push({
    close: async () => {
      await firefox.close();
      forwarder.close();
    },
  });
  return firefox;
}
