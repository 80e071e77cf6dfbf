/**
 * pprof: the profile as a gzip-compressed pprof protobuf (Go's heap profile shape: sample types
 * alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes; period type
 * space/bytes, period 2^lg_prof_sample), encoded with pprof-format. Values are the estimated true
 * figures (jemalloc's unbiased sums; exact with lg_prof_sample:0). alloc_* are cumulative and need
 * opt.prof_accum (0 without it, as jemalloc keeps no cumulative counts then).
 */
import type * as PprofFormat from "pprof-format";
import { hostGzip, hostRequire } from "../platform/index.js";
import { type Cnt, LG_TINY_MIN_SCALE, type ProfileData } from "./collect.js";
import { parseFrame } from "./stack.js";

/** Estimated (objects, bytes) of the live or cumulative part of a count. */
export function estimate(c: Cnt, data: ProfileData, which: "cur" | "accum"): [number, number] {
  const cur = which === "cur";
  const n = cur ? c.curobjs : c.accumobjs;
  if (n === 0) return [0, 0];
  if (data.unbias) {
    const shifted = cur ? c.curobjsShifted : c.accumobjsShifted;
    return [
      Math.round(shifted / LG_TINY_MIN_SCALE),
      Math.round(cur ? c.curbytesUnbiased : c.accumbytesUnbiased),
    ];
  }
  // jeprof's AdjustSamples (sampling algorithm 2) on the raw counts.
  const s = cur ? c.curbytes : c.accumbytes;
  const scale = 1 / (1 - Math.exp(-(s / n) / 2 ** data.lgSample));
  return [Math.round(n * scale), Math.round(s * scale)];
}

/** The pprof protobuf (not compressed). */
export function encodePprof(data: ProfileData, timeMs: number = Date.now()): Uint8Array {
  const { Line, Location, Mapping, Function: PFunction, Profile, Sample, StringTable, ValueType } = pf();
  const st = new StringTable();
  const vt = (type: string, unit: string) => new ValueType({ type: st.dedup(type), unit: st.dedup(unit) });
  const mapping = new Mapping({ id: 1, filename: st.dedup("jemalloc-ts"), hasFunctions: true });
  const functions = new Map<string, PprofFormat.Function>();
  const locations = new Map<number, PprofFormat.Location>();
  const locationOf = (addr: number, text: string): number => {
    let loc = locations.get(addr);
    if (loc !== undefined) return loc.id as number;
    const f = parseFrame(text);
    const fkey = `${f.fn}\u0000${f.file}`;
    let fn = functions.get(fkey);
    if (fn === undefined) {
      fn = new PFunction({
        id: functions.size + 1,
        name: st.dedup(f.fn),
        systemName: st.dedup(f.fn),
        filename: st.dedup(f.file),
      });
      functions.set(fkey, fn);
    }
    loc = new Location({
      id: locations.size + 1,
      mappingId: 1,
      address: addr,
      line: [new Line({ functionId: fn.id, line: f.line })],
    });
    locations.set(addr, loc);
    return loc.id as number;
  };
  const samples: PprofFormat.Sample[] = [];
  for (const s of data.stacks) {
    const [ao, ab] = data.accum ? estimate(s.total, data, "accum") : [0, 0];
    const [io, ib] = estimate(s.total, data, "cur");
    samples.push(
      new Sample({
        locationId: s.frames.map((f) => locationOf(f.addr, f.text)),
        value: [ao, ab, io, ib],
      }),
    );
  }
  const periodType = vt("space", "bytes");
  const profile = new Profile({
    sampleType: [
      vt("alloc_objects", "count"),
      vt("alloc_space", "bytes"),
      vt("inuse_objects", "count"),
      vt("inuse_space", "bytes"),
    ],
    sample: samples,
    mapping: [mapping],
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: st,
    timeNanos: BigInt(Math.round(timeMs)) * 1_000_000n,
    periodType,
    period: 2 ** data.lgSample,
    defaultSampleType: st.dedup("inuse_space"),
  });
  return profile.encode();
}

/** The gzip-compressed profile, as pprof tools read it. */
export function profilePprof(data: ProfileData): Uint8Array {
  return hostGzip(encodePprof(data));
}

let pprofFormat: typeof PprofFormat | null = null;

/**
 * pprof-format, loaded on first use: it is not in the module graph of the package entry, so a browser
 * loads the package without it (there `format: "pprof"` throws and `format: "jeprof"` works).
 */
function pf(): typeof PprofFormat {
  if (pprofFormat === null) pprofFormat = hostRequire("pprof-format") as typeof PprofFormat;
  return pprofFormat;
}
