import * as v from 'valibot';
import { ConfigError } from '../errors.js';
import { applyRouteDefaults } from './apply-route-defaults.js';
import { routeProblems } from './check-routes.js';
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
  // Our own sentences stand; valibot's defaults ("Invalid value: Expected >=1 but received 0") are
  // said plainly (issue 13): what is expected, then what was written.
  if (!issue.message.startsWith('Invalid ')) return issue.message;
  const expected = issue.expected ?? '';
  const bound = /^(>=|<=)(.+)$/.exec(expected);
  if (bound !== null) {
    const limit = bound[1] === '>=' ? 'at least' : 'at most';
    return issue.type === 'min_length' || issue.type === 'max_length'
      ? `expected ${limit} ${bound[2]} character(s), got ${issue.received}`
      : `expected ${limit} ${bound[2]}, got ${issue.received}`;
  }
  if (issue.kind === 'schema') return `expected ${expected === 'Object' ? 'an object' : expected === 'Array' ? 'a list' : `a ${expected}`}, got ${issue.received}`;
  if (issue.type === 'integer') return `expected a whole number, got ${issue.received}`;
  return issue.message;
}

/**
 * Where a problem comes from, for its message: a name ("flags", "config"), or
 * for files a function of the path giving "file:line:column".
 */
export type ProblemSource = string | ((path: ReadonlyArray<string | number>) => string);

function problem(source: ProblemSource, path: ReadonlyArray<string | number>, message: string): string {
  const where = typeof source === 'string' ? source : source(path);
  return `${where}: ${path.length === 0 ? '(top level)' : path.join('.')}: ${message}`;
}

/**
 * Problems located in a file ("file:line:column: ...") in the order of the
 * file, as a reader goes through it (issue 13); the others (flags) after
 * them, in the order found. Sorting is stable.
 */
function inFileOrder(problems: string[]): string[] {
  const position = (text: string): [number, number] => {
    const at = /^[^\n]*?:(\d+):(\d+): /.exec(text);
    return at === null ? [Number.POSITIVE_INFINITY, 0] : [Number(at[1]), Number(at[2])];
  };
  return problems
    .map((text, index) => ({ text, index, at: position(text) }))
    .sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1] || a.index - b.index)
    .map(({ text }) => text);
}

/**
 * Validates a raw configuration and returns a new, frozen one with defaults
 * filled in (`defaults` copied into routes first: apply-route-defaults.ts);
 * the caller's object is never changed. Throws ConfigError listing every
 * problem as "source: path: what was expected".
 */
export function validateConfig(input: GatewayConfigInput | unknown, source: ProblemSource = 'config'): GatewayConfig {
  const result = v.safeParse(GatewayConfigSchema, applyRouteDefaults(input));
  if (!result.success) {
    const problems = inFileOrder(result.issues.map((issue) => problem(source, issue.path?.map((item) => item.key as string | number) ?? [], describeIssue(issue))));
    throw new ConfigError(problems.join('\n'), problems);
  }
  const crossField = routeProblems(result.output);
  if (crossField.length > 0) {
    const problems = inFileOrder(crossField.map((found) => problem(source, found.path, found.message)));
    throw new ConfigError(problems.join('\n'), problems);
  }
  return deepFreeze(structuredClone(result.output));
}
