import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/index.js';

/** The problems validateConfig reports for `input`; fails the test when it reports none. */
export function problemsOf(input: unknown): readonly string[] {
  try {
    validateConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('a ConfigError is thrown');
}
