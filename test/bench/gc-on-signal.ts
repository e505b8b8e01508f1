// Preloaded into the proxies under test (node --expose-gc --import
// gc-on-signal.js): SIGUSR2 runs a full GC, then writes process.memoryUsage()
// to $WSGATE_BENCH_MEM_DIR/mem-<pid>.json. S4 uses it before opening and
// after closing every tunnel, to tell memory the process still holds (heap
// and external buffers: a leak) from memory the allocator has merely not
// returned to the OS (RSS only). Same hook for naive and wsgate; it does
// nothing until signalled. Cluster workers inherit execArgv and get it too.
import fs from 'node:fs';
import path from 'node:path';

const gc = (globalThis as { gc?: () => void }).gc;
const dir = process.env.WSGATE_BENCH_MEM_DIR;
process.on('SIGUSR2', () => {
  gc?.();
  if (!dir) return;
  const file = path.join(dir, `mem-${process.pid}.json`);
  // Written under a temporary name and renamed, so the reader never sees half a file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
  fs.renameSync(`${file}.tmp`, file);
});
