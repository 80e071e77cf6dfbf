/**
 * conf_store: where a heap keeps the two malloc_conf strings it was built with (the embedded `conf`
 * option and JEMALLOC_TS_MALLOC_CONF as the creator read it), so every attaching thread parses the
 * same text. A string of up to HDR_CONF_MAX_BYTES lives in its fixed header slot; a longer one lives
 * in an extension area appended to the header (jemalloc reads a conf string of any length), whose
 * offset is the header word HDR_CONF_EXT_B. Layout of the extension: the long embedded string, then
 * (8-byte aligned) the long environment string.
 */
import {
  HDR_CONF_EMBED_B,
  HDR_CONF_EMBED_LEN_B,
  HDR_CONF_ENV_B,
  HDR_CONF_ENV_LEN_B,
  HDR_CONF_EXT_B,
  HDR_CONF_MAX_BYTES,
} from "../ctx/header.js";
import { alignUp } from "../layout/index.js";

/** Header word: byte offset of the conf extension area, 0 when both strings fit their slots. */
/** confEnvLen when there was no environment string. */
export const CONF_ENV_ABSENT = 0xffffffff;

export interface ConfBytes {
  embedded: Uint8Array;
  env: Uint8Array | null;
}

export function confEncode(embedded: string, env: string | null): ConfBytes {
  const enc = new TextEncoder();
  return { embedded: enc.encode(embedded), env: env === null ? null : enc.encode(env) };
}

/** Bytes the extension area needs (0 when both strings fit their slots). */
export function confExtBytes(c: ConfBytes): number {
  const e = c.embedded.length > HDR_CONF_MAX_BYTES ? alignUp(c.embedded.length, 8) : 0;
  const v = c.env !== null && c.env.length > HDR_CONF_MAX_BYTES ? c.env.length : 0;
  return e + v;
}

/** Writes both strings; `ext` is the extension area's offset (used only when confExtBytes > 0). */
export function confWrite(u8: Uint8Array, u32: Uint32Array, c: ConfBytes, ext: number): void {
  let at = ext;
  const place = (bytes: Uint8Array, slot: number): void => {
    if (bytes.length <= HDR_CONF_MAX_BYTES) u8.set(bytes, slot);
    else {
      u8.set(bytes, at);
      at = alignUp(at + bytes.length, 8);
    }
  };
  place(c.embedded, HDR_CONF_EMBED_B);
  u32[HDR_CONF_EMBED_LEN_B >>> 2] = c.embedded.length;
  if (c.env === null) u32[HDR_CONF_ENV_LEN_B >>> 2] = CONF_ENV_ABSENT;
  else {
    place(c.env, HDR_CONF_ENV_B);
    u32[HDR_CONF_ENV_LEN_B >>> 2] = c.env.length;
  }
  u32[HDR_CONF_EXT_B >>> 2] = confExtBytes(c) > 0 ? ext : 0;
}

/** Where each string's bytes are: [offset, length] (env null when absent). */
export function confLocate(u32: Uint32Array): { embedded: [number, number]; env: [number, number] | null } {
  const embLen = u32[HDR_CONF_EMBED_LEN_B >>> 2]!;
  const envLen = u32[HDR_CONF_ENV_LEN_B >>> 2]!;
  let at = u32[HDR_CONF_EXT_B >>> 2]!;
  const embedded: [number, number] = [embLen <= HDR_CONF_MAX_BYTES ? HDR_CONF_EMBED_B : at, embLen];
  if (embLen > HDR_CONF_MAX_BYTES) at = alignUp(at + embLen, 8);
  if (envLen === CONF_ENV_ABSENT) return { embedded, env: null };
  return { embedded, env: [envLen <= HDR_CONF_MAX_BYTES ? HDR_CONF_ENV_B : at, envLen] };
}

export function confRead(u8: Uint8Array, u32: Uint32Array): { embedded: string; env: string | null } {
  const loc = confLocate(u32);
  const dec = new TextDecoder();
  const str = ([at, len]: [number, number]) => dec.decode(u8.slice(at, at + len));
  return { embedded: str(loc.embedded), env: loc.env === null ? null : str(loc.env) };
}
