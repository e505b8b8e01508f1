// S4 idle memory: RSS per idle tunnel, every tunnel still echoes, then
// whether the proxy's memory comes back after all of them close.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WsConn, MessageHandler } from '../lib/ws-client.js';
import { processTree, rssBytes, tcpMemBytes } from '../lib/proc.js';
import { cpuWindow, round } from '../lib/window.js';
import { sleep, PAYLOAD64, type Load } from '../lib/load.js';
import type { S4Params, S4Result } from '../lib/types.js';

// S4: many idle tunnels; RSS growth per tunnel; every tunnel must still echo;
// then all close and we watch whether the proxy's RSS comes back down.
export async function s4(L: Load, P: S4Params): Promise<S4Result> {
  const proxyRss = (): number | null => (L.cfg.proxyPid !== null ? rssBytes(processTree(L.cfg.proxyPid)) : null);
  const backendsRss = (): number => rssBytes(L.cfg.backendPids.flatMap((p) => processTree(p)));
  const selfRss = (): number => process.memoryUsage().rss;
  // Backends and generator are ours: collect their garbage before each
  // sample so only live memory is compared. The proxies are left alone
  // (wsgate and naive alike): their RSS is what an operator would see.
  const collect = async (): Promise<void> => {
    for (const pid of L.cfg.backendPids) {
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        /* backend gone: its RSS reads as 0 and the run shows it */
      }
    }
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(300);
  };
  // Live memory of the proxy: SIGUSR2 to each of its processes makes the
  // preloaded hook (gc-on-signal.ts) collect garbage and write memoryUsage().
  const proxyLive = async (): Promise<number | null> => {
    if (L.cfg.proxyPid === null || L.cfg.memDir === null) return null;
    const memDir = L.cfg.memDir;
    const pids = processTree(L.cfg.proxyPid);
    const file = (pid: number): string => path.join(memDir, `mem-${pid}.json`);
    for (const pid of pids) {
      fs.rmSync(file(pid), { force: true });
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        /* gone */
      }
    }
    let total = 0;
    for (const pid of pids) {
      const until = Date.now() + 3000;
      while (!fs.existsSync(file(pid)) && Date.now() < until) await sleep(50);
      if (!fs.existsSync(file(pid))) return null; // hook missing: no figure rather than a wrong one
      const m = JSON.parse(fs.readFileSync(file(pid), 'utf8')) as NodeJS.MemoryUsage;
      total += m.heapUsed + m.external;
    }
    return total;
  };
  // Warm the stack (JIT, lazily allocated pools) so "before" is a warm idle proxy.
  const warm = await L.openMany(P.warmup, 50, () => undefined);
  await Promise.all(warm.conns.map((c) => c?.close(3000)));
  await sleep(700);
  await collect();
  // A GC'd baseline for both proxies alike (this also lowers "before" RSS to
  // what the process really needs, so the growth is not masked by garbage).
  const liveBefore = await proxyLive();
  const a = L.measure();
  const before = { proxy: proxyRss(), backends: backendsRss(), self: selfRss(), tcp: tcpMemBytes() };
  const seen = new Set<WsConn>();
  let onAll: (() => void) | null = null;
  let opened = 0;
  const onMessage: MessageHandler = (conn) => {
    seen.add(conn);
    if (seen.size === opened) onAll?.();
  };
  L.log(`opening ${P.conns} idle tunnels`);
  const o = await L.openMany(P.conns, P.openConcurrency, () => onMessage);
  const conns = o.conns.filter((c): c is WsConn => c !== null);
  opened = conns.length;
  if (opened === 0) throw new Error(`no tunnel opened: ${JSON.stringify(o.stats.errors)}`);
  L.log(`opened ${opened} in ${o.stats.ms} ms (${o.stats.failed} failed); settling ${P.settleSeconds} s`);
  await sleep(Math.min(P.settleSeconds * 1000, L.timeLeft() - 20000));
  await collect();
  const after = { proxy: proxyRss(), backends: backendsRss(), self: selfRss(), tcp: tcpMemBytes() };
  for (const c of conns) c.send(PAYLOAD64);
  if (seen.size < opened) {
    await new Promise<void>((r) => {
      onAll = r;
      setTimeout(r, Math.min(30000, L.timeLeft() - 15000));
    });
  }
  const echoOk = seen.size;
  const stillOpen = conns.filter((c) => !c.closed).length;
  const afterEcho = proxyRss();
  L.log(`${echoOk}/${opened} echoed; closing all`);
  const tc = performance.now();
  await Promise.race([Promise.all(conns.map((c) => c.close(5000))), sleep(Math.min(10000, L.timeLeft() - 8000))]);
  for (const c of conns) c.destroy();
  const closeMs = round(performance.now() - tc, 1);
  // RSS after close: watch for up to closeSettleSeconds. V8 gives memory back
  // lazily (its memory reducer acts after some idle seconds), so a short
  // look would flag every Node proxy; stop early once RSS is back within 20%
  // of the growth, which is the pass condition anyway.
  const peakSoFar = Math.max(after.proxy ?? 0, afterEcho ?? 0);
  const target = before.proxy !== null ? before.proxy + 0.2 * Math.max(0, peakSoFar - before.proxy) : null;
  let afterClose = proxyRss();
  let afterCloseMin = afterClose;
  const series: Array<[number, number]> = [];
  const tw = Date.now();
  const until = tw + Math.min(P.closeSettleSeconds * 1000, L.timeLeft() - 4000);
  for (let i = 0; Date.now() < until && i < 100_000; i++) {
    if (afterClose !== null && target !== null && afterClose <= target) break;
    await sleep(250);
    afterClose = proxyRss();
    if (afterClose !== null && afterCloseMin !== null) afterCloseMin = Math.min(afterCloseMin, afterClose);
    if (afterClose !== null && i % 4 === 3) series.push([round((Date.now() - tw) / 1000, 1), afterClose]);
  }
  const closeWatchS = round((Date.now() - tw) / 1000, 1);
  // Then force a full GC in the proxy: what is still resident after that is
  // held by the allocator or by the process; live heap + external tells which.
  const liveAfter = L.timeLeft() > 5000 ? await proxyLive() : null;
  const afterGc = liveAfter !== null ? proxyRss() : null;
  const w = cpuWindow(a, L.measure());
  const per = (x: number | null, y: number | null): number | null =>
    x !== null && y !== null && opened > 0 ? Math.round((y - x) / opened) : null;
  const peak = after.proxy !== null && afterEcho !== null ? Math.max(after.proxy, afterEcho) : null;
  const growth = peak !== null && before.proxy !== null ? peak - before.proxy : null;
  const retained = afterClose !== null && before.proxy !== null ? afterClose - before.proxy : null;
  const proxyB = per(before.proxy, after.proxy);
  const backendsB = per(before.backends, after.backends);
  const selfB = per(before.self, after.self);
  return {
    kind: 'S4',
    requested: P.requested,
    open: o.stats,
    echoOk,
    stillOpenAtEnd: stillOpen,
    proxyProcesses: w.proxyProcesses,
    proxyRssBefore: before.proxy,
    proxyRssPeak: peak,
    proxyRssAfterClose: afterClose,
    proxyRssAfterCloseMin: afterCloseMin,
    proxyRssAfterCloseSeries: series,
    closeWatchS,
    proxyRetainedShare: growth !== null && retained !== null && growth > 0 ? round(retained / growth, 3) : null,
    proxyRetainedFlag: growth !== null && retained !== null && retained > 0.2 * Math.max(0, growth),
    proxyRssAfterGc: afterGc,
    proxyRetainedAfterGcShare:
      growth !== null && growth > 0 && afterGc !== null && before.proxy !== null ? round((afterGc - before.proxy) / growth, 3) : null,
    proxyLiveBefore: liveBefore,
    proxyLiveAfterClose: liveAfter,
    proxyLiveLeakPerTunnel: liveBefore !== null && liveAfter !== null ? Math.round((liveAfter - liveBefore) / opened) : null,
    proxyBytesPerTunnel: proxyB,
    backendsBytesPerTunnel: backendsB,
    loadgenBytesPerTunnel: selfB,
    stackBytesPerTunnel: backendsB !== null && selfB !== null ? (proxyB ?? 0) + backendsB + selfB : null,
    kernelTcpBytesPerTunnel: per(before.tcp, after.tcp),
    closeMs,
    foreignPctOfCore: w.foreignPctOfCore,
  };
}
