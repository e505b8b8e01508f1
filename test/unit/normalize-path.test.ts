import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodePath, normalizePath, removeDotSegments } from '../../src/routing/normalize-path.js';

describe('removeDotSegments (RFC 3986 5.2.4)', () => {
  // The RFC's own examples (5.2.4 and 5.4.2), for absolute paths.
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/a/b/c/./../../g', '/a/g'],
    ['/b/c/./g', '/b/c/g'],
    ['/b/c/.', '/b/c/'],
    ['/b/c/./', '/b/c/'],
    ['/b/c/..', '/b/'],
    ['/b/c/../', '/b/'],
    ['/b/c/../g', '/b/g'],
    ['/b/c/../..', '/'],
    ['/b/c/../../g', '/g'],
    ['/b/c/../../../g', '/g'],
    ['/..', '/'],
    ['/.', '/'],
    ['/', '/'],
    ['/a/', '/a/'],
    ['/g.', '/g.'],
    ['/.g', '/.g'],
    ['/g..', '/g..'],
    ['/..g', '/..g'],
    ['/chat/../admin', '/admin'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(removeDotSegments(input), expected));
  }
});

describe('normalizePath', () => {
  test('paths with nothing to do come back as they are (the fast path)', () => {
    for (const path of ['/', '/chat', '/chat/room-1', '/a.b/c..d/.e']) assert.deepEqual(normalizePath(path), { ok: true, path });
  });

  test('dot segments and "//" cannot climb out of a prefix, encoded or not', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['/chat/../admin', '/admin'],
      ['/chat%2f..%2fadmin', '/admin'],
      ['/chat%2F..%2Fadmin', '/admin'],
      ['/chat/%2e%2e/admin', '/admin'],
      ['/chat/.%2E/admin', '/admin'],
      ['/chat//../admin', '/admin'],
      ['//admin', '/admin'],
      ['/chat/./x', '/chat/x'],
      ['/%63hat', '/chat'],
      ['/a%20b', '/a b'],
      ['/caf%C3%A9', '/café'],
    ];
    for (const [raw, expected] of cases) assert.deepEqual(normalizePath(raw), { ok: true, path: expected }, raw);
  });

  test('decoding happens once: "%252e%252e" stays "%2e%2e", not ".."', () => {
    assert.deepEqual(normalizePath('/chat/%252e%252e/admin'), { ok: true, path: '/chat/%2e%2e/admin' });
  });

  test('malformed escapes, bytes that are not UTF-8 and NUL are refused', () => {
    for (const raw of ['/a%', '/a%2', '/a%zz', '/a%2g']) assert.deepEqual(normalizePath(raw), { ok: false, reason: 'malformed percent-encoding' }, raw);
    assert.deepEqual(normalizePath('/a%ff'), { ok: false, reason: 'percent-encoded bytes are not UTF-8' });
    assert.deepEqual(normalizePath('/a%00b'), { ok: false, reason: 'NUL in the path' });
  });

  test('property: the result has no dot segment, no "//", starts with "/", and is a fixed point', () => {
    const segment = fc.oneof(fc.constantFrom('.', '..', '', '%2e%2e', '%2f', 'a', 'chat', '%2E', 'x.y'), fc.stringMatching(/^[a-z0-9._-]{0,6}$/));
    const path = fc.array(segment, { maxLength: 10 }).map((parts) => `/${parts.join('/')}`);
    fc.assert(
      fc.property(path, (raw) => {
        const result = normalizePath(raw);
        assert.ok(result.ok, raw);
        const normalized = result.path;
        assert.ok(normalized.startsWith('/'));
        assert.ok(!normalized.includes('//'), normalized);
        assert.ok(!/\/\.\.?(?:\/|$)/.test(normalized), normalized);
        // A path made only of unreserved characters and "/" normalises to itself.
        if (!normalized.includes('%')) assert.deepEqual(normalizePath(normalized), { ok: true, path: normalized });
      }),
    );
  });
});

describe('encodePath', () => {
  test('re-escapes what decoding produced, keeps what a path may carry', () => {
    assert.equal(encodePath('/a b/café'), '/a%20b/caf%C3%A9');
    assert.equal(encodePath('/100%/x?y#z'), '/100%25/x%3Fy%23z');
    assert.equal(encodePath("/a-b_c.d~e!$&'()*+,;=:@/f"), "/a-b_c.d~e!$&'()*+,;=:@/f");
  });

  test('property: decoding the encoded path gives the path back', () => {
    fc.assert(fc.property(fc.string(), (text) => assert.equal(decodeURIComponent(encodePath(`/${text}`)), `/${text}`)));
  });
});
