import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeProxyHeader } from '../../src/listener/proxy-protocol/decode.js';
import { awsVpceTlv, encodeProxyHeaderV1, encodeProxyHeaderV2, type ProxyV1EncodeInput, type ProxyV2EncodeInput } from '../../src/listener/proxy-protocol/encode.js';
import { PP2_TYPE, PROXY_V2_SIGNATURE, type ProxyDecodeResult, type ProxyTlv } from '../../src/listener/proxy-protocol/types.js';
import { ascii, decodeDone, assertBytewise, v2, nodeIPv6, hexWordsToIPv6 } from '../helpers/proxy-protocol.js';

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const portArb = fc.nat(65535);
const ipv4EndpointArb = fc.record({ address: fc.ipV4(), port: portArb });
const ipv6EndpointArb = fc.record({ address: fc.ipV6(), port: portArb });
/** IPv6 words biased towards zero runs and 0xffff, where the compressed forms differ. */
const ipv6WordsArb = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8,
});
const unixPathArb = fc.oneof(fc.stringMatching(/^\/[a-z0-9._-]{0,100}$/), fc.stringMatching(/^\0[a-z0-9]{1,60}$/));
const vpceIdArb = fc.stringMatching(/^vpce-[0-9a-f]{17}$/);
/** TLVs of any type but CRC32C (the encoder adds that) and AWS (added on purpose below). */
const tlvArb: fc.Arbitrary<ProxyTlv> = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((type) => type !== PP2_TYPE.CRC32C && type !== PP2_TYPE.AWS),
  value: fc.uint8Array({ maxLength: 128 }).map((bytes) => Buffer.from(bytes)),
});

const v1InputArb: fc.Arbitrary<ProxyV1EncodeInput> = fc.oneof(
  fc.record({ family: fc.constant('tcp4' as const), source: ipv4EndpointArb, destination: ipv4EndpointArb }),
  fc.record({ family: fc.constant('tcp6' as const), source: ipv6EndpointArb, destination: ipv6EndpointArb }),
  fc.constant({ family: 'unknown' as const }),
);

interface V2Case {
  input: ProxyV2EncodeInput;
  vpceId: string | null;
}

const v2CaseArb: fc.Arbitrary<V2Case> = fc
  .tuple(
    fc.oneof(
      fc.constant({ command: 'local' as const }),
      fc.constant({ family: 'unknown' as const }),
      fc.record({
        family: fc.constant('tcp4' as const),
        transport: fc.constantFrom('stream' as const, 'dgram' as const),
        source: ipv4EndpointArb,
        destination: ipv4EndpointArb,
      }),
      fc.record({
        family: fc.constant('tcp6' as const),
        transport: fc.constantFrom('stream' as const, 'dgram' as const),
        source: ipv6EndpointArb,
        destination: ipv6EndpointArb,
      }),
      fc.record({
        family: fc.constant('unix' as const),
        transport: fc.constantFrom('stream' as const, 'dgram' as const),
        source: fc.record({ path: unixPathArb }),
        destination: fc.record({ path: unixPathArb }),
      }),
    ),
    fc.array(tlvArb, { maxLength: 5 }),
    fc.option(vpceIdArb),
    fc.boolean(),
  )
  .map(([addresses, tlvs, vpceId, withCrc]) => ({
    input: { ...addresses, tlvs: vpceId === null ? tlvs : [awsVpceTlv(vpceId), ...tlvs], crc32c: withCrc },
    vpceId,
  }));

const validHeaderArb: fc.Arbitrary<Buffer> = fc.oneof(
  v1InputArb.map(encodeProxyHeaderV1),
  v2CaseArb.map((testCase) => encodeProxyHeaderV2(testCase.input)),
);

const KINDS = new Set(['need-more', 'done', 'error']);

function assertWellFormed(result: ProxyDecodeResult, input: Buffer): void {
  assert.ok(KINDS.has(result.kind));
  if (result.kind === 'done') assert.ok(result.length > 0 && result.length <= input.length);
  if (result.kind === 'error') assert.ok(result.message.length > 0);
}

function expectedInet(family: 'tcp4' | 'tcp6', endpoint: { address: string; port: number }): { address: string; port: number } {
  return { address: family === 'tcp6' ? nodeIPv6(endpoint.address) : endpoint.address, port: endpoint.port };
}

describe('properties', () => {
  it('v1: encode then decode gives back the addresses and ports', () => {
    fc.assert(
      fc.property(v1InputArb, (input) => {
        const encoded = encodeProxyHeaderV1(input);
        assert.ok(encoded.length <= 107);
        const { header, length } = decodeDone(encoded);
        assert.equal(length, encoded.length);
        assert.equal(header.version, 1);
        assert.equal(header.family, input.family);
        if (input.family === 'unknown') {
          assert.equal(header.source, undefined);
        } else {
          assert.deepEqual(header.source, expectedInet(input.family, input.source));
          assert.deepEqual(header.destination, expectedInet(input.family, input.destination));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('v1: every prefix of a line written with uncompressed or odd IPv6 text needs more', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.ipV6(), portArb, portArb, (source, destination, sourcePort, destinationPort) => {
        const line = ascii(`PROXY TCP6 ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`);
        fc.pre(line.length <= 107);
        const { header } = assertBytewise(line);
        assert.deepEqual(header.source, { address: nodeIPv6(source), port: sourcePort });
        assert.deepEqual(header.destination, { address: nodeIPv6(destination), port: destinationPort });
      }),
      { numRuns: 300 },
    );
  });

  it('v2: encode then decode gives back addresses, transport and TLVs', () => {
    fc.assert(
      fc.property(v2CaseArb, ({ input, vpceId }) => {
        const encoded = encodeProxyHeaderV2(input);
        const { header, length } = decodeDone(encoded);
        assert.equal(length, encoded.length);
        assert.equal(header.version, 2);
        const inputTlvs = input.tlvs ?? [];
        const expectedTlvs = input.crc32c ? [...inputTlvs.map((entry) => entry.type), PP2_TYPE.CRC32C] : inputTlvs.map((entry) => entry.type);
        assert.deepEqual(
          header.tlvs.map((entry) => entry.type),
          expectedTlvs,
        );
        inputTlvs.forEach((entry, index) => assert.deepEqual(header.tlvs[index]?.value, entry.value));
        assert.equal(header.awsVpceId, vpceId ?? undefined);
        assert.equal(header.crc32c !== undefined, input.crc32c === true);
        if (input.command === 'local') {
          assert.equal(header.command, 'local');
          assert.equal(header.family, 'unknown');
          return;
        }
        assert.equal(header.command, 'proxy');
        assert.equal(header.family, input.family);
        if (input.family === 'unknown') return;
        assert.equal(header.transport, input.transport);
        if (input.family === 'unix') {
          // Compared by field: fast-check may build the input with a null prototype.
          assert.deepEqual(header.source, { path: input.source.path });
          assert.deepEqual(header.destination, { path: input.destination.path });
        } else {
          assert.deepEqual(header.source, expectedInet(input.family, input.source));
          assert.deepEqual(header.destination, expectedInet(input.family, input.destination));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('v2: IPv6 addresses read as Node itself would print them', () => {
    fc.assert(
      fc.property(ipv6WordsArb, ipv6WordsArb, (sourceWords, destinationWords) => {
        const block = Buffer.alloc(36);
        sourceWords.forEach((word, index) => block.writeUInt16BE(word, 2 * index));
        destinationWords.forEach((word, index) => block.writeUInt16BE(word, 16 + 2 * index));
        const { header } = decodeDone(v2(0x21, 0x21, block));
        if (header.family !== 'tcp6') assert.fail(`expected tcp6, got ${header.family}`);
        assert.equal(header.source.address, nodeIPv6(hexWordsToIPv6(sourceWords)));
        assert.equal(header.destination.address, nodeIPv6(hexWordsToIPv6(destinationWords)));
      }),
      { numRuns: 500 },
    );
  });

  it('a valid header split at random points decodes identically, as soon as its last byte arrives', () => {
    fc.assert(
      fc.property(validHeaderArb, fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (header, after, cuts) => {
        const whole = decodeDone(header);
        const stream = Buffer.concat([header, after]);
        const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1))), stream.length].sort((a, b) => a - b);
        for (const point of points) {
          const result = decodeProxyHeader(stream.subarray(0, point));
          if (point < header.length) assert.deepEqual(result, { kind: 'need-more' });
          else assert.deepEqual(result, whole);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw and give one of the three results', () => {
    const prefixed = (prefix: Buffer): fc.Arbitrary<Buffer> =>
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.concat([prefix, bytes]));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
          prefixed(ascii('PROXY ')),
          prefixed(ascii('PROXY TCP4 ')),
          prefixed(ascii('PROXY TCP6 ')),
          prefixed(PROXY_V2_SIGNATURE),
          prefixed(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21])])),
        ),
        (input) => assertWellFormed(decodeProxyHeader(input), input),
      ),
      { numRuns: 2000 },
    );
  });

  it('mutated valid headers never throw, a verdict holds for its own bytes, and errors are final', () => {
    const mutatedArb = fc
      .tuple(
        validHeaderArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 20 }),
      )
      .map(([header, edits, cut, tail]) => {
        const bytes = Buffer.from(header);
        for (const [position, value] of edits) bytes[position % bytes.length] = value;
        return Buffer.concat([bytes.subarray(0, cut % (bytes.length + 1)), tail]);
      });
    fc.assert(
      fc.property(mutatedArb, fc.nat(), (input, cut) => {
        const result = decodeProxyHeader(input);
        assertWellFormed(result, input);
        if (result.kind === 'done') {
          // What was consumed is a header by itself.
          assert.deepEqual(decodeProxyHeader(input.subarray(0, result.length)), result);
        }
        // A prefix judged invalid has no valid continuation.
        const prefix = input.subarray(0, cut % (input.length + 1));
        if (decodeProxyHeader(prefix).kind === 'error') assert.equal(result.kind, 'error');
      }),
      { numRuns: 2000 },
    );
  });
});
