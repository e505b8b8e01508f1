/**
 * PROXY protocol versions 1 and 2 (haproxy doc/proxy-protocol.txt): a pure decoder for what a
 * load balancer prepends to a connection (this file: the entry point for either version), and
 * encoders for sending it on to backends (encode.ts).
 *
 * The decoder keeps no state: every call re-parses from the start of the buffer it is given.
 * A header is at most 107 bytes (v1) or a capped, normally tiny block (v2), so re-parsing as
 * bytes arrive costs less than a state machine would, and the socket glue only has to keep
 * appending what it reads and call again until it gets 'done' or 'error'.
 */
import { decodeV1 } from './decode-v1.js';
import { decodeV2 } from './decode-v2.js';
import { NEED_MORE, notProxy } from './decode-result.js';
import { PROXY_V2_DEFAULT_MAX_LENGTH, type ProxyDecodeOptions, type ProxyDecodeResult } from './types.js';

const CR = 0x0d;
const V1_FIRST_BYTE = 0x50; // 'P'

/**
 * Decodes the PROXY header at the start of `buf`. Returns 'need-more' while `buf` is a strict
 * prefix of a valid header, 'error' as soon as it cannot be one, and 'done' with the number of
 * bytes consumed otherwise. Never throws. Call again with the grown buffer after 'need-more'.
 */
export function decodeProxyHeader(buf: Buffer, options: ProxyDecodeOptions = {}): ProxyDecodeResult {
  if (buf.length === 0) return NEED_MORE;
  // proxy-protocol.txt 2.2 (end): the first byte alone tells v1 ("PROXY") from v2 (\r\n...).
  if (buf[0] === V1_FIRST_BYTE) return decodeV1(buf);
  if (buf[0] === CR) return decodeV2(buf, options.maxV2Length ?? PROXY_V2_DEFAULT_MAX_LENGTH);
  return notProxy();
}
