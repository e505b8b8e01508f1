/** IPv6 addresses between 16 bytes, eight 16-bit groups and the text Node and the v1 line use. */
import { isIPv4, isIPv6 } from 'node:net';

export const IPV6_TEXT = /^[0-9A-Fa-f:.]*$/;

export function formatIPv6(bytes: Uint8Array, start: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[start + 2 * i] ?? 0) << 8) | (bytes[start + 2 * i + 1] ?? 0));
  return formatIPv6Words(words);
}

/**
 * The text libuv's inet_ntop (hence Node's socket.remoteAddress) gives: the longest run of two or
 * more zero groups (the first on a tie) becomes "::", lower-case hex, and IPv4-compatible
 * (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted form.
 */
export function formatIPv6Words(words: readonly number[]): string {
  const run = longestZeroRun(words);
  const dottedTail = run.start === 0 && (run.length === 6 || (run.length === 5 && words[5] === 0xffff));
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (run.length >= 2 && i >= run.start && i < run.start + run.length) {
      if (i === run.start) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && dottedTail) {
      const high = words[6] ?? 0;
      const low = words[7] ?? 0;
      return `${text}${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
    }
    text += (words[i] ?? 0).toString(16);
  }
  if (run.length >= 2 && run.start + run.length === 8) text += ':';
  return text;
}

function longestZeroRun(words: readonly number[]): { start: number; length: number } {
  let best = { start: -1, length: 0 };
  let start = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (start === -1) start = i;
      continue;
    }
    if (start !== -1 && i - start > best.length) best = { start, length: i - start };
    start = -1;
  }
  return best;
}

/** Eight 16-bit groups of a textual IPv6 address (hex groups, one "::", optional dotted tail). */
export function parseIPv6Words(text: string): number[] | undefined {
  if (!IPV6_TEXT.test(text) || !isIPv6(text)) return undefined;
  const halves = text.split('::');
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (halves.length > 2 || !head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function groupsOf(part: string): number[] | undefined {
  if (part === '') return [];
  const words: number[] = [];
  for (const group of part.split(':')) {
    if (group.includes('.')) {
      if (!isIPv4(group)) return undefined;
      const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
      words.push((a << 8) | b, (c << 8) | d);
    } else {
      words.push(parseInt(group, 16));
    }
  }
  return words;
}
