/**
 * The thread's trie over captured call sites (src/prof/stack.ts): a repeated stack reaches the same
 * node, and stacks that differ in any frame's script or source offset (or, for frames without a
 * script, function name) reach different nodes, the same offset in two scripts included.
 */
import { describe, expect, it } from "vitest";
import { siteNodeNew, siteTrieFind } from "../../src/prof/stack.js";

function site(file: string | null, pos: number, fn = "f"): NodeJS.CallSite {
  return {
    getFileName: () => file,
    getPosition: () => pos,
    getFunctionName: () => fn,
    getMethodName: () => null,
    getTypeName: () => null,
    isConstructor: () => false,
    isToplevel: () => true,
  } as unknown as NodeJS.CallSite;
}

describe("call-site trie", () => {
  it("finds a repeated stack at the same node and keeps the sites of a node without a record", () => {
    const root = siteNodeNew("");
    const a = [site("/x.js", 10), site("/y.js", 20)];
    const n1 = siteTrieFind(root, a);
    expect(n1.pending).toBe(a);
    n1.stack = 77;
    const again = [site("/x.js", 10), site("/y.js", 20)];
    const n2 = siteTrieFind(root, again);
    expect(n2).toBe(n1);
    expect(n2.stack).toBe(77);
    expect(n2.pending).toBe(a); // not replaced once a record exists
  });

  it("tells apart the same offset in two scripts, another offset, and native frames by name", () => {
    const root = siteNodeNew("");
    const nodes = [
      siteTrieFind(root, [site("/x.js", 10)]),
      siteTrieFind(root, [site("/z.js", 10)]),
      siteTrieFind(root, [site("/x.js", 11)]),
      siteTrieFind(root, [site(null, 0, "push")]),
      siteTrieFind(root, [site(null, 0, "map")]),
      siteTrieFind(root, [site("/x.js", 10), site("/x.js", 10)]),
    ];
    expect(new Set(nodes).size).toBe(nodes.length);
    // Each is found again, the chained one (same offset, second script) included.
    expect(siteTrieFind(root, [site("/z.js", 10)])).toBe(nodes[1]);
    expect(siteTrieFind(root, [site("/x.js", 10)])).toBe(nodes[0]);
    expect(siteTrieFind(root, [site(null, 0, "map")])).toBe(nodes[4]);
  });
});
