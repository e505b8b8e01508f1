// Load generator: one scenario per process, so that its CPU is separate from
// the orchestrator's and the proxy's. Config: one JSON argument (LoadgenConfig).
// Output: progress on stderr, one JSON line (LoadgenOutput) on stdout.
// Every loop is bounded by a count and by the deadline; the process exits by
// itself at the deadline and when its parent goes away.
import { exitWithParent } from './lib/proc.js';
import { Load } from './lib/load.js';
import { s1 } from './scenarios/s1.js';
import { s2 } from './scenarios/s2.js';
import { s3 } from './scenarios/s3.js';
import { s4 } from './scenarios/s4.js';
import type { LoadgenConfig, LoadgenOutput, ScenarioResult } from './lib/types.js';

const cfg = JSON.parse(process.argv[2] ?? 'null') as LoadgenConfig;
const L = new Load(cfg);
setTimeout(() => {
  L.log('hard deadline reached, exiting');
  process.exit(3);
}, cfg.deadlineS * 1000 + 2000).unref();
exitWithParent(4);

async function main(): Promise<ScenarioResult> {
  switch (cfg.scenario) {
    case 'S1':
      return s1(L, cfg.params);
    case 'S2':
      return s2(L, cfg.params);
    case 'S3':
      return s3(L, cfg.params);
    case 'S4':
      return s4(L, cfg.params);
  }
}

const started = Date.now();
main().then(
  (result) => {
    const out: LoadgenOutput = { ok: true, scenario: cfg.scenario, elapsedS: (Date.now() - started) / 1000, result };
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  },
  (e: unknown) => {
    const out: LoadgenOutput = { ok: false, scenario: cfg.scenario, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(1);
  },
);
