// Runs a command we did not write (the wsgate CLI) so that it cannot outlive
// the benchmark: Node has no PR_SET_PDEATHSIG, and the gateway does not watch
// its parent, so this small process does it for it.
// usage: node watchdog.js LOGFILE CMD [ARGS...]
//   - CMD's stdout and stderr go to LOGFILE;
//   - prints "PID <pid>" so the caller measures CMD's own process tree (not ours);
//   - SIGTERM/SIGINT to us is forwarded to CMD; we exit when CMD exits;
//   - if our parent dies: SIGTERM to CMD, SIGKILL to its tree 3 s later.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { processTree } from './lib/proc.js';

const [logFile, cmd, ...args] = process.argv.slice(2);
if (!logFile || !cmd) {
  process.stderr.write('usage: node watchdog.js LOGFILE CMD [ARGS...]\n');
  process.exit(2);
}
const out = fs.openSync(logFile, 'a');
const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
child.on('error', (e) => {
  process.stderr.write(`watchdog: ${e.message}\n`);
  process.exit(127);
});
child.on('exit', (code, sig) => process.exit(code ?? (sig ? 128 : 1)));
if (child.pid !== undefined) process.stdout.write(`PID ${child.pid}\n`);

let stopping = false;
function stopChild(): void {
  if (stopping) return;
  stopping = true;
  const pid = child.pid;
  if (pid === undefined) process.exit(1);
  const tree = processTree(pid); // snapshot now: workers get re-parented once the primary dies
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  setTimeout(() => {
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    process.exit(1);
  }, 3000).unref();
}

process.on('SIGTERM', stopChild);
process.on('SIGINT', stopChild);
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stopChild();
}, 500).unref();
