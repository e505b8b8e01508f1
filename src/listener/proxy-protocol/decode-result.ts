/** The results the v1 and v2 decoders share: "need more bytes" and errors. */
import type { ProxyDecodeError, ProxyDecodeNeedMore, ProxyProtocolErrorCode } from './types.js';

export const NEED_MORE: ProxyDecodeNeedMore = Object.freeze({ kind: 'need-more' });

export function fail(code: ProxyProtocolErrorCode, message: string): ProxyDecodeError {
  return { kind: 'error', code, message };
}

export function notProxy(): ProxyDecodeError {
  return fail('not-proxy', 'The connection does not start with a PROXY protocol v1 or v2 signature');
}
