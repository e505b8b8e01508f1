import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { headerHasToken } from '../../src/http/header-token.js';

/** The split/trim/toLowerCase loop headerHasToken replaced (validate-handshake, clean-upgrade-head, health-check, response-head). */
function splitTrimLower(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  for (const part of value.split(',')) {
    if (part.trim().toLowerCase() === wanted) return true;
  }
  return false;
}

describe('headerHasToken', () => {
  test('undefined value holds no token', () => {
    assert.equal(headerHasToken(undefined, 'upgrade'), false);
  });
  test('finds a token anywhere in a comma list, ignoring case and spaces', () => {
    assert.equal(headerHasToken('Upgrade', 'upgrade'), true);
    assert.equal(headerHasToken('keep-alive, Upgrade', 'upgrade'), true);
    assert.equal(headerHasToken('keep-alive,UPGRADE', 'upgrade'), true);
    assert.equal(headerHasToken('Upgrade , keep-alive', 'upgrade'), true);
    assert.equal(headerHasToken('a, b ,\tc', 'c'), true);
    assert.equal(headerHasToken('gzip, Chunked', 'chunked'), true);
    assert.equal(headerHasToken(',, websocket ,', 'websocket'), true);
  });
  test('the token may be given in any case', () => {
    assert.equal(headerHasToken('keep-alive, upgrade', 'Upgrade'), true);
  });
  test('does not match substrings or quoted or parameterised tokens', () => {
    assert.equal(headerHasToken('upgraded', 'upgrade'), false);
    assert.equal(headerHasToken('x-upgrade', 'upgrade'), false);
    assert.equal(headerHasToken('"upgrade"', 'upgrade'), false);
    assert.equal(headerHasToken('keep-alive upgrade', 'upgrade'), false);
    assert.equal(headerHasToken('upgrade;q=1', 'upgrade'), false);
    assert.equal(headerHasToken('', 'upgrade'), false);
    assert.equal(headerHasToken(',', 'upgrade'), false);
  });
  test('only ASCII letters fold: no latin1 letter stands for an ASCII one', () => {
    assert.equal(headerHasToken('upgr\u00c0de', 'upgrade'), false);
    assert.equal(headerHasToken('UPGRADE', 'upgrade'), true);
  });

  // Field values reach it as latin1 text (Node's parser, parseResponseHead) or ASCII (parseCleanUpgradeHead).
  const latin1Char = fc.oneof(
    fc.constantFrom(' ', '\t', ',', '\u00a0', '\u000b', '\u000c', '\r', '\n', '"', ';', '='),
    fc.constantFrom(...'upgradeUPGRADEwebsocketWEBSOCKETchunkedCHUNKED'),
    fc.integer({ min: 0, max: 0xff }).map((code) => String.fromCharCode(code)),
  );
  const latin1Value = fc.array(latin1Char, { maxLength: 40 }).map((chars) => chars.join(''));
  const tokenInList = fc
    .tuple(
      fc.array(fc.constantFrom('', ' ', '\t', '\u00a0', 'keep-alive', 'x', 'upgrade', 'Upgrade', 'WEBSOCKET', 'websocket2', 'chunked', 'gzip'), { maxLength: 6 }),
      fc.constantFrom(',', ', ', ' ,', ',\t'),
    )
    .map(([parts, separator]) => parts.join(separator));
  const token = fc.constantFrom('upgrade', 'websocket', 'chunked', 'Upgrade', 'c', '');

  test('answers as the split/trim/toLowerCase loops it replaced, on latin1 values', () => {
    fc.assert(
      fc.property(fc.oneof(latin1Value, tokenInList), token, (value, wanted) => {
        assert.equal(headerHasToken(value, wanted), splitTrimLower(value, wanted), JSON.stringify([value, wanted]));
      }),
      { numRuns: 20_000 },
    );
  });
  test('trims exactly what String#trim trims, beyond latin1 too', () => {
    for (let code = 0; code <= 0xffff; code++) {
      const space = String.fromCharCode(code);
      const value = `${space}upgrade${space}`;
      assert.equal(headerHasToken(value, 'upgrade'), splitTrimLower(value, 'upgrade'), `U+${code.toString(16)}`);
    }
  });
});
