import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FLAG_TABLE } from '../../src/config/flag-table.js';
import { FAILURES } from '../../src/errors.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test("README's flag-to-file-key table names every flag with its key", () => {
  for (const row of FLAG_TABLE) {
    if (row.path === undefined) continue;
    const flag = row.flags.split(' ')[0] as string;
    assert.ok(README.includes(`| \`${flag}\` | \`${row.path.join('.')}\``), `${flag} -> ${row.path.join('.')} is in README`);
  }
});

test('README lists every X-Wsgate-Error code', () => {
  for (const code of Object.keys(FAILURES)) assert.ok(README.includes(`| \`${code}\` |`), `${code} is in README`);
});
