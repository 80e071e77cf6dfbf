/**
 * intern: the shared string and stack tables (jemalloc's bt2gctx). A frame is interned once as a
 * string; a stack is interned once as its list of frame strings. Both live in the buffer, carved from
 * b0 and never freed, so any worker can name the frames of any other worker's samples. Each thread
 * keeps a JS map in front of the tables so a repeated stack costs one Map lookup. Callers hold the
 * prof lock.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_BASE0_B } from "../ctx/header.js";
import { baseAlloc } from "../extent/base.js";
import {
  PROF_NSTRINGS_B,
  PROF_STACK_BUCKETS_B,
  PROF_STR_BUCKETS_B,
  STACK_FRAMES_B,
  STACK_HASH_B,
  STACK_NBUCKETS,
  STACK_NEXT_B,
  STACK_NFRAMES_B,
  STR_BYTES_B,
  STR_HASH_B,
  STR_ID_B,
  STR_LEN_B,
  STR_NBUCKETS,
  STR_NEXT_B,
} from "./layout.js";
import { utf8At, utf8Bytes } from "./region.js";
import { type SiteNode, siteNodeNew } from "./stack.js";

/** Longest frame text kept (bytes). */
const FRAME_MAX_BYTES = 1024;

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function fnv1aWords(words: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const w of words) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return h >>> 0;
}

function b0(ctx: HeapCtx): number {
  return ctx.u32[HDR_BASE0_B >>> 2]!;
}

/** The record of string `s` in the buffer (created when new), or 0 when b0 is out of memory. */
export function internString(ctx: HeapCtx, s: string): number {
  const bytes = utf8Bytes(s, FRAME_MAX_BYTES);
  const h = fnv1a(bytes);
  const u32 = ctx.u32;
  const slot = (u32[(ctx.profB + PROF_STR_BUCKETS_B) >>> 2]! >>> 2) + (h & (STR_NBUCKETS - 1));
  for (let r = u32[slot]!; r !== 0; r = u32[(r + STR_NEXT_B) >>> 2]!) {
    if (u32[(r + STR_HASH_B) >>> 2] !== h || u32[(r + STR_LEN_B) >>> 2] !== bytes.length) continue;
    if (sameBytes(ctx.u8, r + STR_BYTES_B, bytes)) return r;
  }
  const r = baseAlloc(ctx, b0(ctx), STR_BYTES_B + bytes.length, 8);
  if (r === 0) return 0;
  ctx.u8.set(bytes, r + STR_BYTES_B);
  u32[(r + STR_HASH_B) >>> 2] = h;
  u32[(r + STR_LEN_B) >>> 2] = bytes.length;
  const idW = (ctx.profB + PROF_NSTRINGS_B) >>> 2;
  u32[(r + STR_ID_B) >>> 2] = u32[idW]!;
  u32[idW] = u32[idW]! + 1;
  u32[(r + STR_NEXT_B) >>> 2] = u32[slot]!;
  u32[slot] = r;
  return r;
}

function sameBytes(u8: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) return false;
  return true;
}

export function stringText(ctx: HeapCtx, r: number): string {
  return utf8At(ctx, r + STR_BYTES_B, ctx.u32[(r + STR_LEN_B) >>> 2]!);
}

export function stringId(ctx: HeapCtx, r: number): number {
  return ctx.u32[(r + STR_ID_B) >>> 2]!;
}

/** The stack record for these frame strings (innermost first), or 0 when out of memory. */
export function internStack(ctx: HeapCtx, frames: readonly number[]): number {
  const h = fnv1aWords(frames);
  const u32 = ctx.u32;
  const slot = (u32[(ctx.profB + PROF_STACK_BUCKETS_B) >>> 2]! >>> 2) + (h & (STACK_NBUCKETS - 1));
  for (let r = u32[slot]!; r !== 0; r = u32[(r + STACK_NEXT_B) >>> 2]!) {
    if (u32[(r + STACK_HASH_B) >>> 2] !== h || u32[(r + STACK_NFRAMES_B) >>> 2] !== frames.length) continue;
    let same = true;
    for (let i = 0; i < frames.length && same; i++)
      same = u32[((r + STACK_FRAMES_B) >>> 2) + i] === frames[i];
    if (same) return r;
  }
  const r = baseAlloc(ctx, b0(ctx), STACK_FRAMES_B + frames.length * 4, 8);
  if (r === 0) return 0;
  u32[(r + STACK_HASH_B) >>> 2] = h;
  u32[(r + STACK_NFRAMES_B) >>> 2] = frames.length;
  for (let i = 0; i < frames.length; i++) u32[((r + STACK_FRAMES_B) >>> 2) + i] = frames[i]!;
  u32[(r + STACK_NEXT_B) >>> 2] = u32[slot]!;
  u32[slot] = r;
  return r;
}

/** The frame string records of a stack, innermost first. */
export function stackFrames(ctx: HeapCtx, stack: number): number[] {
  const n = ctx.u32[(stack + STACK_NFRAMES_B) >>> 2]!;
  const w = (stack + STACK_FRAMES_B) >>> 2;
  return Array.from(ctx.u32.subarray(w, w + n));
}

/** A trie over frame texts (innermost first) to the stack record: a repeated stack allocates nothing. */
interface StackTrie {
  stack: number;
  readonly next: Map<string, StackTrie>;
}

/**
 * Per-thread caches in front of the tables: frame text → string record, the stack trie over frame
 * texts, and the trie over captured call sites (src/prof/stack.ts) whose nodes keep their records.
 */
interface InternCache {
  readonly frames: Map<string, number>;
  readonly stacks: StackTrie;
  readonly sites: SiteNode;
}

const caches = new WeakMap<HeapCtx, InternCache>();

function cacheOf(ctx: HeapCtx): InternCache {
  let c = caches.get(ctx);
  if (c === undefined) {
    c = { frames: new Map(), stacks: { stack: 0, next: new Map() }, sites: siteNodeNew("") };
    caches.set(ctx, c);
  }
  return c;
}

/** The root of the thread's trie over captured call sites. */
export function internSiteRoot(ctx: HeapCtx): SiteNode {
  return cacheOf(ctx).sites;
}

/** The stack record for frame texts `texts` (innermost first), interning what is new; 0 on OOM. */
export function internStackTexts(ctx: HeapCtx, texts: readonly string[]): number {
  const c = cacheOf(ctx);
  let node = c.stacks;
  for (const t of texts) {
    let n = node.next.get(t);
    if (n === undefined) {
      n = { stack: 0, next: new Map() };
      node.next.set(t, n);
    }
    node = n;
  }
  if (node.stack !== 0) return node.stack;
  const frames: number[] = [];
  for (const t of texts) {
    let f = c.frames.get(t);
    if (f === undefined) {
      f = internString(ctx, t);
      if (f === 0) return 0;
      c.frames.set(t, f);
    }
    frames.push(f);
  }
  node.stack = internStack(ctx, frames);
  return node.stack;
}
