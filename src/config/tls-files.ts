import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { GatewayConfig } from './schema.js';

/**
 * The certificate, key and CA files a configuration names, checked as the
 * gateway will load them (issue 13): a missing, unreadable or non-PEM file,
 * or a key that does not belong to the certificate, is a configuration
 * problem named with its field and file, found by `wsgate check` too, never a
 * stack trace at start-up.
 */
export function tlsFileProblems(config: Pick<GatewayConfig, 'tls' | 'backendTls'>): string[] {
  const problems: string[] = [];
  const read = (field: string, path: string, kind: string): Buffer | undefined => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (error as Error).message;
      problems.push(`${field}: cannot read "${path}": ${why}`);
      return undefined;
    }
    if (!bytes.includes('-----BEGIN ')) {
      problems.push(`${field}: "${path}" is not PEM (expected a ${kind} between -----BEGIN and -----END lines)`);
      return undefined;
    }
    return bytes;
  };
  if (config.tls !== undefined) {
    const cert = read('tls.cert', config.tls.cert, 'certificate');
    const key = read('tls.key', config.tls.key, 'private key');
    if (cert !== undefined && key !== undefined) {
      try {
        createSecureContext({ cert, key });
      } catch (error) {
        const message = (error as Error).message;
        problems.push(
          /key values mismatch/i.test(message)
            ? `tls.key: "${config.tls.key}" is not the key of the certificate "${config.tls.cert}"`
            : `tls: "${config.tls.cert}" and "${config.tls.key}" cannot be used: ${message}`,
        );
      }
    }
  }
  const ca = config.backendTls.ca;
  if (ca !== undefined) {
    const bytes = read('backendTls.ca', ca, 'CA certificate');
    if (bytes !== undefined) {
      try {
        createSecureContext({ ca: bytes });
      } catch (error) {
        problems.push(`backendTls.ca: "${ca}" cannot be used as a CA: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}
