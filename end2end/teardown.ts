import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Whether process `pid` is still running. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The suite's Parley servers keep their SQLite files, and coturn its configuration, in
// the temporary folder, named by the process that wrote them: they go when the run is
// over (those of this run, and those of runs that are no longer running).
export default function teardown() {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const match = /^parley-e2e-(?:[a-z]+-)?(\d+)\.(?:db(?:-shm|-wal)?|conf)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !running(pid)) fs.rmSync(path.join(os.tmpdir(), name), { force: true });
  }
}
