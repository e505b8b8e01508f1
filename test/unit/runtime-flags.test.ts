// The V8 flags are written in three places a user meets (the bin's shebang,
// `npm start`, worker processes via WSGATE_NODE_FLAGS): they must not drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WSGATE_NODE_FLAGS } from '../../src/runtime-flags.js';

const root = new URL('../../../', import.meta.url);

test('the bin shebang, npm start and WSGATE_NODE_FLAGS carry the same V8 flags', () => {
  const shebang = readFileSync(new URL('src/cli.ts', root), 'utf8').split('\n')[0] ?? '';
  assert.equal(shebang, `#!/usr/bin/env -S node ${WSGATE_NODE_FLAGS.join(' ')}`);
  const built = readFileSync(new URL('dist/src/cli.js', root), 'utf8').split('\n')[0];
  assert.equal(built, shebang, 'tsc keeps the shebang in the built bin');
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `node ${WSGATE_NODE_FLAGS.join(' ')} dist/src/cli.js`);
});
