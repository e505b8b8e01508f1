import * as v from 'valibot';
import { ConfigError } from '../errors.js';
import { GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './schema.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** valibot's wording for object keys ("Expected never") is replaced by plain sentences. */
function describeIssue(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'strict_object' && issue.expected === 'never') return 'unknown key';
  if ((issue.type === 'strict_object' || issue.type === 'object') && issue.received === 'undefined') return 'required';
  return issue.message;
}

/**
 * Validates a raw configuration and returns a new, frozen one with defaults
 * filled in; the caller's object is never changed. Throws ConfigError listing
 * every problem as "source: path: what was expected".
 */
export function validateConfig(input: GatewayConfigInput | unknown, source = 'config'): GatewayConfig {
  const result = v.safeParse(GatewayConfigSchema, input);
  if (!result.success) {
    const problems = result.issues.map((issue) => `${source}: ${v.getDotPath(issue) ?? '(top level)'}: ${describeIssue(issue)}`);
    throw new ConfigError(problems.join('\n'), problems);
  }
  return deepFreeze(structuredClone(result.output));
}
