import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectionCapFor, descriptorReserve, readDescriptorLimit } from '../../src/listener/descriptor-limit.js';
import { tempDir } from '../helpers/temp-dir.js';

test('the cap leaves a reserve and two descriptors per connection', () => {
  assert.equal(descriptorReserve(1024), 64);
  assert.equal(connectionCapFor(1024), 480);
  assert.equal(descriptorReserve(1_048_576), 52_429);
  assert.equal(connectionCapFor(1_048_576), 498_073);
  assert.equal(connectionCapFor(300), 118);
  assert.equal(connectionCapFor(10), 1, 'never 0: one connection is better than a gateway that takes none');
});

test('the soft limit is read from /proc/self/limits; unlimited or missing gives undefined', () => {
  const dir = tempDir('wsgate-limits-');
  const file = join(dir, 'limits');
  writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            4096                 524288               files\n');
  assert.equal(readDescriptorLimit(file), 4096);
  writeFileSync(file, 'Max open files            unlimited            unlimited            files\n');
  assert.equal(readDescriptorLimit(file), undefined);
  assert.equal(readDescriptorLimit(join(dir, 'missing')), undefined);
  assert.ok((readDescriptorLimit() ?? 1) > 0, 'this machine has one, or is not Linux');
});
