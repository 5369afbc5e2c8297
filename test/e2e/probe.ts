// The escape tests' probe (probe.c): a static binary, so that it runs in any rootfs. `make test`
// and `make test-vm` build it into test/.build/probe (the VM guest has no compiler); a test run
// without it builds it here. Needs Debian's gcc and libc6-dev.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export const PROBE_SOURCE = join(import.meta.dir, "probe.c");
const PROBE = join(import.meta.dir, "..", ".build", "probe");
const CFLAGS = ["-static", "-O2", "-Wall", "-Wextra"];

/** The path of the compiled probe (mode 0755, owned by root), building it if needed. */
export function probeBinary(): string {
  if (existsSync(PROBE) && statSync(PROBE).mtimeMs >= statSync(PROBE_SOURCE).mtimeMs) return PROBE;
  mkdirSync(join(PROBE, ".."), { recursive: true, mode: 0o755 });
  // another test run may be compiling the same source: each writes its own file, rename is atomic
  const partial = `${PROBE}.${process.pid}`;
  let why: string | undefined;
  try {
    const gcc = Bun.spawnSync(["gcc", ...CFLAGS, "-o", partial, PROBE_SOURCE], { stdout: "pipe", stderr: "pipe" });
    if (!gcc.success) why = gcc.stderr.toString().trim();
  } catch (e) {
    why = (e as Error).message; // no gcc at all
  }
  if (why !== undefined) {
    rmSync(partial, { force: true });
    throw new Error(`cannot build the probe (needs Debian's gcc and libc6-dev): ${why}`);
  }
  renameSync(partial, PROBE);
  return PROBE;
}
