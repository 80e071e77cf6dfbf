// mallctl and malloc_conf errors.
//
// What it is: the errors the mallctl namespace and the malloc_conf parser throw.
// jemalloc's mallctl*() return an errno value; here the same failures throw a
// `MallctlError` whose `code` is jemalloc's errno name and whose `errno` is the
// Linux number, so code written against jemalloc's return values maps 1:1.
// `MallocConfAbortError` stands for jemalloc's abort() during option parsing
// (abort_conf:true with a bad option, or abort:true with an unsupported feature).
//
// Error convention: mallctl failures are MallctlError; programmer errors in the
// arguments of our own functions (wrong JS type of a name or MIB) are TypeError.

export const EPERM = 1;
export const ENOENT = 2;
export const EAGAIN = 11;
export const EFAULT = 14;
export const EINVAL = 22;

export type MallctlErrorCode = "ENOENT" | "EPERM" | "EINVAL" | "EFAULT" | "EAGAIN";

/** Linux errno numbers of the codes mallctl can return. */
export const MALLCTL_ERRNO: Readonly<Record<MallctlErrorCode, number>> = {
  EPERM,
  ENOENT,
  EAGAIN,
  EFAULT,
  EINVAL,
};

const CODE_MEANING: Readonly<Record<MallctlErrorCode, string>> = {
  ENOENT: "no such mallctl name, index out of range, or feature not built",
  EPERM: "operation not permitted on this node (read-only, write-only or void)",
  EINVAL: "invalid value (wrong type or out of range for the node's C type)",
  EFAULT: "the operation failed",
  EAGAIN: "resources temporarily unavailable",
};

/** Formats a name or MIB for messages: `"opt.narenas"` or `mib [6,19]`. */
export function describeMallctlTarget(target: string | readonly number[]): string {
  return typeof target === "string" ? JSON.stringify(target) : `mib [${target.join(",")}]`;
}

export class MallctlError extends Error {
  override readonly name = "MallctlError";
  readonly code: MallctlErrorCode;
  readonly errno: number;
  /** The mallctl name or MIB the call was about. */
  readonly target: string | readonly number[];
  /** What went wrong, without the target (the message is built from it). */
  readonly detail: string;

  constructor(code: MallctlErrorCode, target: string | readonly number[], detail?: string) {
    const what = detail ?? CODE_MEANING[code];
    super(`mallctl(${describeMallctlTarget(target)}): ${code}: ${what}`);
    this.code = code;
    this.errno = MALLCTL_ERRNO[code];
    this.target = typeof target === "string" ? target : [...target];
    this.detail = what;
  }
}

/**
 * What a leaf throws when its operation fails (jemalloc's handler returning an errno): the tree
 * turns it into a MallctlError naming the name or MIB the caller used.
 */
export class CtlLeafFailure extends Error {
  override readonly name = "CtlLeafFailure";
  readonly code: MallctlErrorCode;
  readonly detail: string;

  constructor(code: MallctlErrorCode, detail?: string) {
    const what = detail ?? CODE_MEANING[code];
    super(`${code}: ${what}`);
    this.code = code;
    this.detail = what;
  }
}

/** Shorthand for `throw new CtlLeafFailure(code, detail)` in expression position. */
export function ctlFail(code: MallctlErrorCode, detail?: string): never {
  throw new CtlLeafFailure(code, detail);
}

/** Why malloc_conf processing stopped the program (jemalloc would call abort()). */
export type MallocConfAbortReason = "abort_conf" | "abort";

export class MallocConfAbortError extends Error {
  override readonly name = "MallocConfAbortError";
  readonly reason: MallocConfAbortReason;
  /** Every message written before the abort, in order (each starts with `<jemalloc>: `). */
  readonly messages: readonly string[];

  constructor(reason: MallocConfAbortReason, messages: readonly string[]) {
    const last = messages[messages.length - 1] ?? "";
    super(`malloc_conf: abort() (${reason}): ${last.trim()}`);
    this.reason = reason;
    this.messages = [...messages];
  }
}
