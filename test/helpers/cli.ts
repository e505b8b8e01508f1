import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI, as `npx wsgate` runs it. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal name) once the process ends. */
  readonly exited: Promise<number | string>;
  /** Resolves with the first stdout/stderr text matching `pattern`, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface CliOptions {
  /** Run under this RLIMIT_NOFILE (bash's `ulimit -n`), to make the gateway run out of descriptors. */
  readonly fdLimit?: number;
}

export function runCli(args: string[], options: CliOptions = {}): CliProcess {
  const child =
    options.fdLimit === undefined
      ? spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `ulimit -n ${options.fdLimit} && exec "$@"`, 'bash', process.execPath, CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: CliProcess = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1))),
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(proc.stdout) ?? pattern.exec(proc.stderr);
          if (match) {
            cleanup();
            resolve(match);
          }
          return match !== null;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${proc.stdout} stderr: ${proc.stderr}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.stderr?.off('data', check);
        };
        child.stdout?.on('data', check);
        child.stderr?.on('data', check);
        check();
      });
    },
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (proc.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (proc.stderr += chunk));
  return proc;
}
