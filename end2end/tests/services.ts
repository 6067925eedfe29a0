import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// PostgreSQL and Redis as Debian ships them, of the test's own: in a temporary
// directory, on loopback ports, run as their unprivileged accounts when the tests run as
// root (PostgreSQL refuses root). The same as the Rust tests' `test-services` crate.

/** The command prefix that runs a program as `account` (when running as root, which
 * also gives it `dir`). */
function asAccount(dir: string, account: string): string[] {
  if (process.getuid?.() !== 0) return [];
  execFileSync('chown', ['-R', `${account}:${account}`, dir]);
  return ['setpriv', `--reuid=${account}`, `--regid=${account}`, '--clear-groups', '--'];
}

function run(command: string[]) {
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stdout}${result.stderr}`);
}

/** The newest PostgreSQL under Debian's /usr/lib/postgresql. */
function postgresBin(): string {
  const versions = fs
    .readdirSync('/usr/lib/postgresql')
    .filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/postgres`))
    .sort((a, b) => Number(a) - Number(b));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: scripts/setup.sh --test installs it');
  return `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
}

export class TestPostgres {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-postgres-'));
  readonly url: string;
  private prefix: string[];
  private bin = postgresBin();

  constructor(readonly port: number) {
    this.url = `postgres://parley@127.0.0.1:${port}/postgres`;
    this.prefix = asAccount(this.dir, 'postgres');
    run([...this.prefix, `${this.bin}/initdb`, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C', '-U', 'parley', '-D', `${this.dir}/data`]);
  }

  start() {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c synchronous_commit=off`;
    run([...this.prefix, `${this.bin}/pg_ctl`, '-D', `${this.dir}/data`, '-l', `${this.dir}/log`, '-w', '-o', options, 'start']);
  }

  stop() {
    const command = [...this.prefix, `${this.bin}/pg_ctl`, '-D', `${this.dir}/data`, '-m', 'immediate', 'stop'];
    spawnSync(command[0], command.slice(1));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class TestRedis {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-redis-'));
  readonly url: string;
  private prefix: string[];

  constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
    this.prefix = asAccount(this.dir, 'redis');
  }

  start() {
    run([
      ...this.prefix, 'redis-server', '--port', String(this.port), '--bind', '127.0.0.1', '--daemonize', 'yes',
      '--dir', this.dir, '--pidfile', `${this.dir}/redis.pid`, '--logfile', `${this.dir}/redis.log`,
      '--save', '', '--appendonly', 'no',
    ]);
  }

  stop() {
    try {
      process.kill(Number(fs.readFileSync(`${this.dir}/redis.pid`, 'utf8')), 'SIGKILL');
    } catch {
      // not running
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** HAProxy in front of Parley nodes, as deploy/haproxy.cfg sets it up: WebSockets
 * passed through, each node's /healthz checked. */
export class TestHaproxy {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-haproxy-'));
  readonly url: string;
  private pid?: number;

  constructor(readonly port: number, private nodes: number[]) {
    this.url = `http://127.0.0.1:${port}`;
  }

  start() {
    // The deployment's configuration, with plain HTTP on the test's ports, checks
    // every 250 ms (the test need not wait on the deployment's pace), and every new
    // connection to the first node that is up (so the test knows where each lands).
    const shipped = fs.readFileSync(path.resolve(__dirname, '../../deploy/haproxy.cfg'), 'utf8');
    const config = shipped
      .replace(/^\s*log .*$/gm, '')
      .replace(/maxconn \d+/, 'maxconn 1000')
      .replace(/^\s*bind :443 .*$/m, '')
      .replace(/^\s*http-request redirect .*$/m, '')
      .replace(/bind :80/, `bind 127.0.0.1:${this.port}`)
      .replace(/balance \S+/, 'balance first')
      .replace(/^(\s*)server parley1 \S+/m, `$1server parley1 127.0.0.1:${this.nodes[0]}`)
      .replace(/^(\s*)server parley2 \S+/m, `$1server parley2 127.0.0.1:${this.nodes[1]}`)
      .replace(/^(\s*)default-server .*$/m, '$1default-server check inter 250ms fall 1 rise 1');
    fs.writeFileSync(`${this.dir}/haproxy.cfg`, config);
    run(['haproxy', '-D', '-f', `${this.dir}/haproxy.cfg`, '-p', `${this.dir}/haproxy.pid`]);
    this.pid = Number(fs.readFileSync(`${this.dir}/haproxy.pid`, 'utf8'));
  }

  stop() {
    if (this.pid) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
