import * as net from 'net';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The network and the server, as tests break them: a TCP proxy between a browser
// and Parley that can cut or freeze the signaling connections going through it, and
// a Parley of the test's own that it can kill and start again.

/**
 * Forwards 127.0.0.1:port to Parley. Pages opened through it reach Parley's
 * signaling through it too, so the test can end those connections the way a network
 * does: cut (both ends see the connection end) or frozen (nothing passes any more, and
 * nobody is told: a half-open connection).
 */
export class Proxy {
  private server: net.Server;
  private signaling: { client: net.Socket; upstream: net.Socket }[] = [];
  /** Every socket the proxy holds, frozen ones included, to end them all at the end. */
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor(private target: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      const pair = { client, upstream };
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      }
      client.once('data', (first) => {
        if (first.toString('latin1').toLowerCase().includes('upgrade: websocket')) {
          this.signaling.push(pair);
        }
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Ends every signaling connection through the proxy, at both ends. */
  cutSignaling() {
    for (const { client, upstream } of this.signaling.splice(0)) {
      client.destroy();
      upstream.destroy();
    }
  }

  /** Stops every signaling connection through the proxy passing anything, without
   * closing it; new connections pass as usual. */
  freezeSignaling() {
    for (const { client, upstream } of this.signaling.splice(0)) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A Parley server of the test's own, on a loopback port, with its own database. */
export class Parley {
  private process?: ChildProcess;
  readonly url: string;
  readonly database: string;

  constructor(
    readonly port: number,
    private extraArgs: string[] = [],
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.database = path.join(os.tmpdir(), `parley-e2e-restart-${process.pid}-${port}.db`);
  }

  async start() {
    const binary = path.resolve(process.env.PARLEY_BIN ?? path.resolve(__dirname, '../../target/release/parley'));
    // As the README runs it: a release binary serves the browser app built into it (a
    // debug build reads target/site, from the repository's root where it starts).
    this.process = spawn(
      binary,
      [
        '--listen', `127.0.0.1:${this.port}`,
        // Its own SQLite file, unless the test names a database (a shared PostgreSQL).
        ...(this.extraArgs.includes('--database-url') ? [] : ['--database-url', `sqlite:${this.database}`]),
        // Peer-to-peer only unless the test opens a media port (servers run side by side).
        ...(this.extraArgs.includes('--sfu-listen') ? [] : ['--sfu-listen', 'off']),
        ...this.extraArgs,
      ],
      { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'inherit', 'inherit'] },
    );
    for (let i = 0; i < 200; i++) {
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Parley did not start on ${this.url}`);
  }

  /** The running server's process id. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Removes the database files (after the last stop). */
  removeDatabase() {
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(this.database + suffix, { force: true });
  }

  /** Stops the server with a signal (SIGTERM: it shuts down; SIGKILL: a crash). */
  async stop(signal: NodeJS.Signals) {
    const child = this.process;
    // (A process ended by a signal has no exit code, only the signal.)
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/**
 * A coturn of the test's own: the suite's configuration (deploy/turnserver.conf with
 * end2end/turnserver.conf's overrides) on other ports, so the test can stop and start it without touching the suite's.
 */
export class Coturn {
  private process?: ChildProcess;
  private config: string;

  constructor(readonly port: number) {
    // The hardened deployment configuration, the suite's overrides, then this one's
    // ports (coturn takes the last value given).
    const own = [
      fs.readFileSync(path.resolve(__dirname, '../../deploy/turnserver.conf'), 'utf8'),
      fs.readFileSync(path.resolve(__dirname, '../turnserver.conf'), 'utf8'),
      `listening-port=${port}\nmin-port=49700\nmax-port=49800\n`,
    ].join('\n');
    this.config = path.join(os.tmpdir(), `parley-e2e-turnserver-${process.pid}-${port}.conf`);
    fs.writeFileSync(this.config, own);
  }

  async start() {
    this.process = spawn('turnserver', ['-c', this.config], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const listening = await new Promise<boolean>((resolve) => {
        const socket = net.connect(this.port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (listening) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`coturn did not start on port ${this.port}`);
  }

  async stop() {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  remove() {
    fs.rmSync(this.config, { force: true });
  }
}
