// The output writer of malloc_stats_print: jemalloc's emitter (emitter.h), one
// writer that produces either the human-readable table layout or compact JSON.
//
// What it is: the caller makes the same calls for both outputs; each call only
// acts in the mode it belongs to (json* in JSON, table* in table mode, kv/dict in
// both). Table mode indents dictionaries by two spaces per level; rows are
// fixed-width columns printed back to back. JSON is one line, no whitespace.
// Differences from jemalloc: JSON strings are escaped (jemalloc prints them raw,
// which breaks on a quote in config.malloc_conf).
//
// Synchronization: none (a private string builder). Errors: none.

/** A value with the C type it is printed as. */
export type EmitValue =
  | { t: "bool"; v: boolean }
  | { t: "int"; v: number | bigint }
  | { t: "string"; v: string }
  | { t: "title"; v: string };

export const vBool = (v: boolean): EmitValue => ({ t: "bool", v });
export const vInt = (v: number | bigint): EmitValue => ({ t: "int", v });
export const vStr = (v: string): EmitValue => ({ t: "string", v });
export const vTitle = (v: string): EmitValue => ({ t: "title", v });

/** One column of a table row (emitter_col_t). */
export interface EmitCol {
  justify: "left" | "right";
  width: number;
  value: EmitValue;
}

/** An integer as C's %zu/%PRIu64 print it (exact beyond 2^53, never in exponent form). */
export function fmtInt(v: number | bigint): string {
  if (typeof v === "bigint") return v.toString();
  return Number.isSafeInteger(v) ? String(v) : BigInt(Math.trunc(v)).toString();
}

function render(value: EmitValue, json: boolean): string {
  switch (value.t) {
    case "bool":
      return value.v ? "true" : "false";
    case "int":
      return fmtInt(value.v);
    case "string":
      return json ? JSON.stringify(value.v) : `"${value.v}"`;
    default:
      return value.v;
  }
}

function pad(s: string, justify: "left" | "right", width: number): string {
  return justify === "left" ? s.padEnd(width) : s.padStart(width);
}

export class Emitter {
  readonly json: boolean;
  private readonly parts: string[] = [];
  private depth = 0;
  private itemAtDepth = false;
  private emittedKey = false;

  constructor(json: boolean) {
    this.json = json;
  }

  toString(): string {
    return this.parts.join("");
  }

  private print(s: string): void {
    this.parts.push(s);
  }

  private indent(): void {
    this.print(" ".repeat(this.depth * 2));
  }

  private keyPrefix(): void {
    if (this.emittedKey) {
      this.emittedKey = false;
      return;
    }
    if (this.itemAtDepth) this.print(",");
  }

  private nestInc(): void {
    this.depth++;
    this.itemAtDepth = false;
  }

  private nestDec(): void {
    this.depth--;
    this.itemAtDepth = true;
  }

  // --- JSON --------------------------------------------------------------------------------

  jsonKey(key: string): void {
    if (!this.json) return;
    this.keyPrefix();
    this.print(`${JSON.stringify(key)}:`);
    this.emittedKey = true;
  }

  jsonValue(value: EmitValue): void {
    if (!this.json) return;
    this.keyPrefix();
    this.print(render(value, true));
    this.itemAtDepth = true;
  }

  jsonKv(key: string, value: EmitValue): void {
    this.jsonKey(key);
    this.jsonValue(value);
  }

  jsonObjectBegin(): void {
    if (!this.json) return;
    this.keyPrefix();
    this.print("{");
    this.nestInc();
  }

  jsonObjectKvBegin(key: string): void {
    this.jsonKey(key);
    this.jsonObjectBegin();
  }

  jsonObjectEnd(): void {
    if (!this.json) return;
    this.nestDec();
    this.print("}");
  }

  jsonArrayKvBegin(key: string): void {
    this.jsonKey(key);
    if (!this.json) return;
    this.keyPrefix();
    this.print("[");
    this.nestInc();
  }

  jsonArrayEnd(): void {
    if (!this.json) return;
    this.nestDec();
    this.print("]");
  }

  // --- table -------------------------------------------------------------------------------

  tablePrintf(s: string): void {
    if (!this.json) this.print(s);
  }

  tableDictBegin(header: string): void {
    if (this.json) return;
    this.indent();
    this.print(`${header}\n`);
    this.nestInc();
  }

  tableDictEnd(): void {
    if (!this.json) this.nestDec();
  }

  tableKvNote(key: string, value: EmitValue, noteKey?: string, note?: EmitValue): void {
    if (!this.json) {
      this.indent();
      this.print(`${key}: ${render(value, false)}`);
      if (noteKey !== undefined && note !== undefined) this.print(` (${noteKey}: ${render(note, false)})`);
      this.print("\n");
    }
    this.itemAtDepth = true;
  }

  tableRow(cols: readonly EmitCol[]): void {
    if (this.json) return;
    for (const c of cols) this.print(pad(render(c.value, false), c.justify, c.width));
    this.print("\n");
  }

  // --- both --------------------------------------------------------------------------------

  kvNote(jsonKey: string, tableKey: string, value: EmitValue, noteKey?: string, note?: EmitValue): void {
    if (this.json) this.jsonKv(jsonKey, value);
    else this.tableKvNote(tableKey, value, noteKey, note);
    this.itemAtDepth = true;
  }

  kv(jsonKey: string, tableKey: string, value: EmitValue): void {
    this.kvNote(jsonKey, tableKey, value);
  }

  dictBegin(jsonKey: string, tableHeader: string): void {
    if (this.json) this.jsonObjectKvBegin(jsonKey);
    else this.tableDictBegin(tableHeader);
  }

  dictEnd(): void {
    if (this.json) this.jsonObjectEnd();
    else this.tableDictEnd();
  }

  begin(): void {
    if (this.json) {
      this.print("{");
      this.nestInc();
    }
  }

  end(): void {
    if (this.json) {
      this.nestDec();
      this.print("}");
    }
  }
}
