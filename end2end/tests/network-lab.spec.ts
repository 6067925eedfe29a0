import { chromium, Browser, Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import {
  expectPlayingVideos,
  newRoom,
  readSelectedPairs,
  SelectedPair,
  selectedPairs,
  startFrameWatch,
  stopFrameWatch,
  trackPeerConnections,
} from './calls';
import { hydrated } from './pages';
import {
  expectPlayingInFirefox,
  FIREFOX,
  FirefoxBrowser,
  FirefoxPage,
  firefoxSelectedPairs,
  joinInFirefox,
  launchFirefox,
} from './firefox';

// Real calls across NATs and firewalls: lab/netlab.sh builds network namespaces (an
// "internet" holding Parley and coturn, home routers, a 443-only firewall) and each
// participant is a Chromium (in one case a Firefox) started inside its own namespace.
// Every address exists only inside the namespaces. Needs root, as CI runs; without it
// the test fails and says so rather than skipping.

const LAB = path.resolve(__dirname, '../lab/netlab.sh');
const PARLEY = 'http://11.77.0.2:443';
const TURN_SECRET = 'parley-lab-shared-secret';
// Once up, each call is held and watched throughout (see hold()): 10 s, and in one
// scenario 35 s, past WebRTC's 30-s consent freshness (RFC 7675), so that the consent
// checks are seen keeping the path, and the NATs' mappings on it, alive.
// PARLEY_LAB_HOLD_MS sets another time for every scenario.
const HOLD_OVERRIDE_MS = process.env.PARLEY_LAB_HOLD_MS ? Number(process.env.PARLEY_LAB_HOLD_MS) : undefined;
const holdMs = (pastConsentFreshness = false) => HOLD_OVERRIDE_MS ?? (pastConsentFreshness ? 35_000 : 10_000);
/** A picture that stands still longer than this (ms) during a hold fails it. */
const STILL_PICTURE_MS = 1_500;

// The suite runs one test at a time (workers: 1), so one lab at a time.

/** The scripts that start a browser inside a namespace, removed at the end. */
const wrappers: string[] = [];
test.afterAll(() => {
  for (const wrapper of wrappers.splice(0)) fs.rmSync(wrapper, { force: true });
});

/** The browsers started in the lab now, closed before it is taken down. */
const labBrowsers: { close(): Promise<unknown> }[] = [];

/** Builds the lab's `network`, starts coturn and Parley in it (giving out `turnUrls`),
 * runs `call`, and takes it all down again; when the call fails, shows coturn's log. */
async function inLab(
  label: string,
  network: string,
  turnUrls: string,
  call: (servers: LabServers) => Promise<void>,
) {
  expect(process.getuid?.(), 'the network lab needs root (namespaces, iptables)').toBe(0);
  execFileSync(LAB, ['up', network], { stdio: 'inherit' });
  const servers = new LabServers();
  try {
    await servers.start(turnUrls);
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

  async start(turnUrls: string) {
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
async function browserIn(ns: string, args: string[]): Promise<Browser> {
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
async function firefoxIn(ns: string): Promise<FirefoxBrowser> {
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

type Pair = SelectedPair;

/** The selected candidate pair of the page's one connection. */
async function selectedPair(page: Page): Promise<Pair | null> {
  return (await selectedPairs(page))[0] ?? null;
}

async function joinIn(browser: Browser, room: string, name: string) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await context.addInitScript(trackPeerConnections);
  const page = await context.newPage();
  await page.goto(room);
  await hydrated(page);
  await page.getByLabel('Your name').fill(name);
  const joinedAt = Date.now();
  await page.getByRole('button', { name: 'Join now' }).click();
  return { page, joinedAt };
}

const ALL_TURN_URLS = 'turn:11.77.0.1:3478?transport=udp,turn:11.77.0.1:443?transport=tcp,turns:11.77.0.1:443?transport=tcp';

type Expected = {
  /** The lab scenario (netlab.sh), when not the test's own name. */
  network?: string;
  /** The TURN URLs Parley gives out, when not all of them. */
  turnUrls?: string;
  a: (pair: Pair) => void;
  b: (pair: Pair) => void;
  /** What the people panel says about the connection, on both sides. */
  route: string;
  /** Held past WebRTC's consent freshness timeout (30 s). */
  long?: true;
};

const direct = (pair: Pair) => {
  expect(pair.local).toBe('host');
  expect(['host', 'prflx']).toContain(pair.remote);
};
const throughRouters = (pair: Pair) => {
  expect([pair.local, pair.remote]).not.toContain('relay');
  expect([pair.local, pair.remote].some((type) => type === 'srflx' || type === 'prflx')).toBe(true);
};
const relayedOver = (protocol: string) => (pair: Pair) => {
  expect(pair.local).toBe('relay');
  expect(pair.relayProtocol).toBe(protocol);
};
const relayedRemotely = (pair: Pair) => expect(pair.remote).toBe('relay');
/** Through the relay over UDP, whichever side's relay candidate ICE picked. */
const relayedOverUdp = (pair: Pair) => {
  expect([pair.local, pair.remote]).toContain('relay');
  if (pair.local === 'relay') expect(pair.relayProtocol).toBe('udp');
};

const scenarios: Record<string, Expected> = {
  lan: { a: direct, b: direct, route: 'Direct' },
  // Held the longest: the path through both routers' NATs lives only as long as the
  // consent checks (and the media) keep their mappings.
  cone: { a: throughRouters, b: throughRouters, route: 'Direct, through your router', long: true },
  'udp-blocked': { a: relayedOver('tcp'), b: relayedRemotely, route: 'Relayed through the TURN server' },
  // The same firewall, with only TURN over TLS on 443 offered (a test certificate).
  'udp-blocked, TURN over TLS': {
    network: 'udp-blocked',
    turnUrls: 'turns:11.77.0.1:443?transport=tcp',
    a: (pair) => {
      relayedOver('tls')(pair);
      expect(pair.url).toMatch(/^turns:11\.77\.0\.1:443/);
    },
    b: relayedRemotely,
    route: 'Relayed through the TURN server',
  },
  // Relay to relay, both over TCP.
  'both-blocked': { a: relayedOver('tcp'), b: relayedOver('tcp'), route: 'Relayed through the TURN server' },
  // One relay is enough: the other side reaches it from behind its own NAT (coturn
  // sees that as a peer-reflexive address).
  symmetric: { a: relayedOverUdp, b: relayedOverUdp, route: 'Relayed through the TURN server' },
  mixed: { a: relayedRemotely, b: relayedOver('tcp'), route: 'Relayed through the TURN server' },
};

for (const [scenario, expected] of Object.entries(scenarios)) {
  test(`network lab, ${scenario}: the call connects the expected way and holds`, async ({}, testInfo) => {
    const holdFor = holdMs(expected.long);
    test.setTimeout(holdFor + 150_000);
    await inLab(scenario, expected.network ?? scenario, expected.turnUrls ?? ALL_TURN_URLS, async (servers) => {
      const args = (testInfo.project.use.launchOptions?.args ?? []) as string[];
      const trustTurn = `--ignore-certificate-errors-spki-list=${servers.certificateKey}`;
      const ada = await browserIn('a', [...args, trustTurn]);
      const bob = await browserIn('b', [...args, trustTurn]);
      const room = await newRoom(ada, PARLEY);

      const a = await joinIn(ada, room, 'Ada');
      const b = await joinIn(bob, room, 'Bob');
      const framesAt = await expectPlayingVideos(a.page, 1, 45_000);
      await expectPlayingVideos(b.page, 1, 45_000);
      const pairs = { a: await selectedPair(a.page), b: await selectedPair(b.page) };
      console.log(`[lab ${scenario}] first frame at Ada ${framesAt - b.joinedAt} ms after Bob joined; pairs ${JSON.stringify(pairs)}`);
      expected.a(pairs.a!);
      expected.b(pairs.b!);

      for (const [who, other] of [[a, 'Bob'], [b, 'Ada']] as const) {
        await who.page.getByRole('button', { name: 'People (2)' }).click();
        const line = who.page.getByRole('list', { name: 'In the meeting' }).getByRole('listitem').filter({ hasText: other });
        await expect(line).toContainText(`${expected.route} · `);
      }

      await hold(scenario, holdFor, [
        { name: 'Ada', evaluate: (fn) => a.page.evaluate(fn) },
        { name: 'Bob', evaluate: (fn) => b.page.evaluate(fn) },
      ]);
      for (const who of [a, b]) {
        expect(await who.page.evaluate(() => ((window as any).__pcs as RTCPeerConnection[]).filter((pc) => pc.connectionState === 'connected').length)).toBe(1);
      }
      expect({ a: await selectedPair(a.page), b: await selectedPair(b.page) }).toEqual(pairs);
    });
  });
}

test('network lab, Firefox behind the 443-only firewall: relayed over TCP 443, and it holds', async ({}, testInfo) => {
  const holdFor = holdMs();
  test.setTimeout(holdFor + 150_000);
  await inLab('Firefox udp-blocked', 'udp-blocked', ALL_TURN_URLS, async () => {
    const args = (testInfo.project.use.launchOptions?.args ?? []) as string[];
    const chromiumBrowser = await browserIn('b', args);
    const firefox = await firefoxIn('a');
    const room = await newRoom(chromiumBrowser, PARLEY);

    const bob = await joinIn(chromiumBrowser, room, 'Bob');
    const foxJoinedAt = Date.now();
    const ada = await joinInFirefox(firefox, room, 'Ada');
    const framesAt = await expectPlayingVideos(bob.page, 1, 45_000);
    await expectPlayingInFirefox(ada, 1);
    const pairs = { ada: (await firefoxSelectedPairs(ada))[0], bob: await selectedPair(bob.page) };
    console.log(`[lab Firefox udp-blocked] first frame at Bob ${framesAt - foxJoinedAt} ms after Ada (Firefox) joined; pairs ${JSON.stringify(pairs)}`);
    relayedOver('tcp')(pairs.ada);
    relayedRemotely(pairs.bob!);

    await bob.page.getByRole('button', { name: 'People (2)' }).click();
    await expect(bob.page.getByRole('list', { name: 'In the meeting' }).getByRole('listitem').filter({ hasText: 'Ada' }))
      .toContainText('Relayed through the TURN server · ');
    await ada.evaluate(() => (document.querySelector('button[aria-label="People (2)"]') as HTMLButtonElement).click());
    await expect
      .poll(() => firefoxPeopleLine(ada, 'Bob'))
      .toContain('Relayed through the TURN server · ');

    await hold('Firefox udp-blocked', holdFor, [
      { name: 'Ada (Firefox)', evaluate: (fn) => ada.evaluate(fn) },
      { name: 'Bob', evaluate: (fn) => bob.page.evaluate(fn) },
    ]);
    expect({ ada: (await firefoxSelectedPairs(ada))[0], bob: await selectedPair(bob.page) }).toEqual(pairs);
  });
});

/** One side of a held call: a name for the report, and a way to run a function in its
 * page (a Chromium page of Playwright's or a Firefox page of puppeteer's). */
type Side = { name: string; evaluate<T>(fn: () => T | Promise<T>): Promise<T> };

/**
 * Holds the call for `ms` and watches it all the while, as the people in it would:
 * every remote video's frames (startFrameWatch: looked at every 50 ms; a picture that
 * stands still longer than STILL_PICTURE_MS fails), and each side's selected candidate
 * pairs, read every second (a connection gone or moved to another path fails).
 */
async function hold(label: string, ms: number, sides: Side[]) {
  const paths = await Promise.all(sides.map((side) => side.evaluate(readSelectedPairs)));
  const before = JSON.stringify(paths);
  for (const side of sides) await side.evaluate(startFrameWatch);
  const changes: string[] = [];
  const started = Date.now();
  for (let left = ms; left > 0; left = ms - (Date.now() - started)) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, left)));
    for (const [i, side] of sides.entries()) {
      const now = await side.evaluate(readSelectedPairs);
      if (JSON.stringify(now) !== JSON.stringify(paths[i])) {
        changes.push(`${side.name}, ${((Date.now() - started) / 1000).toFixed(1)} s in: ${JSON.stringify(now)}`);
        paths[i] = now;
      }
    }
  }
  const frames = [];
  for (const side of sides) frames.push({ side: side.name, ...(await side.evaluate(stopFrameWatch)) });
  console.log(
    `[lab ${label}] held ${((Date.now() - started) / 1000).toFixed(1)} s; longest still picture: ` +
      frames.map((f) => `${f.side} ${f.gap} ms (${f.samples} looks)`).join(', ') +
      `; path changes: ${changes.length}`,
  );
  expect(changes, `the selected paths changed during the hold (they were ${before})`).toEqual([]);
  for (const f of frames) {
    // Looked at least every 200 ms on average (every 50 ms when the machine keeps up).
    expect(f.samples, `${f.side}: the frame watch ran through the hold`).toBeGreaterThan(ms / 200);
    expect(f.gap, `${f.side}: the longest still picture (ms)`).toBeLessThan(STILL_PICTURE_MS);
  }
}

/** The people panel's line about `name`, in Firefox. */
async function firefoxPeopleLine(page: FirefoxPage, name: string): Promise<string> {
  return page.evaluate(
    (name) =>
      [...document.querySelectorAll('ul[aria-label="In the meeting"] li')]
        .map((li) => li.textContent ?? '')
        .find((text) => text.includes(name)) ?? '',
    name,
  );
}
