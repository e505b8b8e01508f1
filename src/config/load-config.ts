import { readConfigFile } from './load-config-file.js';
import { flagPaths, overlayConfig } from './overlay-config.js';
import { ConfigError } from '../errors.js';
import type { GatewayConfig } from './schema.js';
import { tlsFileProblems } from './tls-files.js';
import { validateConfig } from './validate.js';

/**
 * The effective configuration: the file (if any) with the flags laid over it,
 * validated once. Problems name where the value came from: "flags", or
 * "file:line:column" for what the file wrote. Throws ConfigError.
 */
export function loadConfig(flags: Record<string, unknown>, file?: string): GatewayConfig {
  const config = loadUnchecked(flags, file);
  // The files it names are loaded as the gateway will, so that `check` finds what start-up would.
  const problems = tlsFileProblems(config).map((problem) => `${file ?? 'flags'}: ${problem}`);
  if (problems.length > 0) throw new ConfigError(problems.join('\n'), problems);
  return config;
}

function loadUnchecked(flags: Record<string, unknown>, file?: string): GatewayConfig {
  if (file === undefined) return validateConfig(flags, 'flags');
  const loaded = readConfigFile(file);
  const fromFlags = flagPaths(flags);
  const sourceOf = (path: ReadonlyArray<string | number>): string => {
    const dotted = path.join('.');
    if (fromFlags.some((flagPath) => dotted === flagPath || dotted.startsWith(`${flagPath}.`))) return 'flags';
    const at = loaded.locate(path);
    return at === undefined ? file : `${file}:${at}`;
  };
  return validateConfig(overlayConfig(loaded.raw, flags), sourceOf);
}
