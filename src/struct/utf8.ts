/**
 * UTF-8 encoding and decoding over a byte view, written out by hand because `TextDecoder` refuses views of a
 * SharedArrayBuffer in browsers and `encodeInto` would need a temporary copy. Lone surrogates are encoded as
 * U+FFFD, as `TextEncoder` does. Pure functions, no allocation except the decoded string.
 */

/** UTF-8 byte length of `s`; -1 when `s` contains U+0000 (a C string cannot hold it). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return -1;
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Writes `s` at `u8[at..]` (the caller sized the space with utf8Length); returns the end offset. */
export function utf8Write(u8: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      u8[at++] = c;
      continue;
    }
    if (c < 0x800) {
      u8[at++] = 0xc0 | (c >> 6);
      u8[at++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLowSurrogate(next)) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        u8[at++] = 0xf0 | (cp >> 18);
        u8[at++] = 0x80 | ((cp >> 12) & 0x3f);
        u8[at++] = 0x80 | ((cp >> 6) & 0x3f);
        u8[at++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    u8[at++] = 0xe0 | (c >> 12);
    u8[at++] = 0x80 | ((c >> 6) & 0x3f);
    u8[at++] = 0x80 | (c & 0x3f);
  }
  return at;
}

/** Decodes `u8[start..end)`; malformed sequences become U+FFFD (one per bad byte). */
export function utf8Read(u8: Uint8Array, start: number, end: number): string {
  let out = "";
  let chunk: number[] = [];
  let i = start;
  while (i < end) {
    const cp = decodeAt(u8, i, end);
    i += cp >>> 24 || 1;
    const code = cp & 0x1fffff;
    if (code >= 0x10000) chunk.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
    else chunk.push(code);
    if (chunk.length >= 4096) {
      out += String.fromCharCode.apply(null, chunk);
      chunk = [];
    }
  }
  return out + String.fromCharCode.apply(null, chunk);
}

/** Code point at `i` packed with its byte length in the top byte (length 1 with U+FFFD when malformed). */
function decodeAt(u8: Uint8Array, i: number, end: number): number {
  const b0 = u8[i]!;
  if (b0 < 0x80) return (1 << 24) | b0;
  const bad = (1 << 24) | 0xfffd;
  let need = 3;
  let cp = b0 & 0x07;
  let min = 0x10000;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if (b0 < 0xf0 || b0 > 0xf4) return bad;
  if (i + need >= end) return bad;
  for (let k = 1; k <= need; k++) {
    const b = u8[i + k]!;
    if ((b & 0xc0) !== 0x80) return bad;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return bad;
  return ((need + 1) << 24) | cp;
}
