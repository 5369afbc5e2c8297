// `--trace[=json]` of the OCI commands that start a container (create, start, run): the same
// record as `mydocker run --trace` (src/trace.ts), printed to stderr when the command is done —
// after `create` has parked the init, after `start` has seen the execve, or when either failed.
import { mark, renderTrace, startTrace, tracing } from "../trace";
import type { FlagDef, Flags } from "./flags";
import { OciError } from "./store";

/** `--trace` alone (a table) or `--trace=json`; never takes the next word (that is the id). */
export const traceFlag: Record<string, FlagDef> = { trace: { optionalValue: true } };

/** Starts recording when the command line asks for it; the process's own start-up is the first step. */
export function beginTrace(f: Flags): void {
  const value = f.trace;
  if (value === undefined || value === false) return;
  if (value !== "" && value !== "table" && value !== "json") throw new OciError(`invalid --trace "${value}": table or json`);
  startTrace("parent");
  mark("Bun start-up and the command line", performance.timeOrigin);
}

/** Prints the record (when tracing) whether `fn` succeeds or throws. */
export async function traced<T>(f: Flags, fn: () => T | Promise<T>): Promise<T> {
  beginTrace(f);
  try {
    return await fn();
  } finally {
    if (tracing()) process.stderr.write(renderTrace(f.trace === "json" ? "json" : "table"));
  }
}
