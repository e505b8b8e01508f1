import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { plainAddress } from '../../src/listener/plain-address.js';

describe('plainAddress', () => {
  test('IPv4-mapped IPv6 becomes plain IPv4', () => {
    assert.equal(plainAddress('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1');
  });
  test('everything else is kept as it is', () => {
    assert.equal(plainAddress('1.2.3.4'), '1.2.3.4');
    assert.equal(plainAddress('::1'), '::1');
    assert.equal(plainAddress('::ffff:7f00:1'), '::ffff:7f00:1');
    assert.equal(plainAddress('2001:db8::ffff:1.2.3.4'), '2001:db8::ffff:1.2.3.4');
    assert.equal(plainAddress('fe80::1%eth0'), 'fe80::1%eth0');
  });
  test('undefined (a destroyed socket) becomes the empty string', () => {
    assert.equal(plainAddress(undefined), '');
  });
});
