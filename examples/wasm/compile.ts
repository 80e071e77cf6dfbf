/** Compiles the example's WebAssembly text with the `wabt` package (no toolchain needed). */
import { readFileSync } from "node:fs";
import wabtInit from "wabt";

export async function compileWat(file: URL): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(file.pathname, readFileSync(file, "utf8"), { threads: true });
  try {
    mod.resolveNames();
    return mod.toBinary({}).buffer; // the engine validates it when it compiles it
  } finally {
    mod.destroy();
  }
}
