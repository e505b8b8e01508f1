import { ConfigError } from '../errors.js';
import { GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './schema.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates a raw configuration and returns a new, frozen one with defaults
 * filled in; the caller's object is never changed. Throws ConfigError listing
 * every problem as "path: what was expected".
 */
export function validateConfig(input: GatewayConfigInput | unknown, source = 'config'): GatewayConfig {
  const result = GatewayConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `${source}: ${where}: ${issue.message}`;
    });
    throw new ConfigError(problems.join('\n'), problems);
  }
  return deepFreeze(result.data);
}
