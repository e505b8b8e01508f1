/**
 * True when a comma-separated header value holds `token`, compared
 * case-insensitively (RFC 9110 5.6.1 lists; tokens, 5.6.2, are ASCII and
 * compared without regard to case where the field says so: Connection 7.6.1,
 * Upgrade 7.8, Transfer-Encoding's codings 10.1.4).
 *
 * `token` is a tchar token such as "upgrade"; a repeated field arrives joined
 * with ", " and is one list. Empty elements (",,") are allowed and ignored
 * unless `token` is empty. Whitespace around an element is what String#trim()
 * removes (OWS, SP and HTAB, is the part of it a valid field carries), so this
 * answers exactly as the split/trim/toLowerCase loops it replaced did for every
 * field value Node or our parsers produce (latin1 text).
 *
 * It runs for every upgrade request, so it scans in place: no split array, no
 * trimmed or lower-cased copies, no regular expression.
 */
export function headerHasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const length = value.length;
  const tokenLength = token.length;
  let start = 0;
  for (;;) {
    let end = value.indexOf(',', start);
    if (end === -1) end = length;
    let first = start;
    let last = end;
    while (first < last && isTrimmedSpace(value.charCodeAt(first))) first++;
    while (last > first && isTrimmedSpace(value.charCodeAt(last - 1))) last--;
    if (last - first === tokenLength && equalsIgnoringAsciiCase(value, first, token)) return true;
    if (end === length) return false;
    start = end + 1;
  }
}

/** `token` equals value[offset, offset + token.length), ASCII letters compared without case. */
function equalsIgnoringAsciiCase(value: string, offset: number, token: string): boolean {
  for (let index = 0; index < token.length; index++) {
    const a = value.charCodeAt(offset + index);
    const b = token.charCodeAt(index);
    if (a !== b && toAsciiLower(a) !== toAsciiLower(b)) return false;
  }
  return true;
}

function toAsciiLower(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/**
 * The characters String#trim() removes (ECMAScript WhiteSpace and
 * LineTerminator): HTAB, LF, VT, FF, CR, SP, NBSP and the wider Unicode
 * spaces. In a valid field only SP and HTAB (OWS) can surround an element.
 */
function isTrimmedSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
