// The escape tests' probe (probe.c): compiled once, static so that it runs in any rootfs, and
// cached in the temp dir by a hash of its source and flags. Needs Debian's gcc and libc6-dev.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROBE_SOURCE = join(import.meta.dir, "probe.c");
const CFLAGS = ["-static", "-O2", "-Wall", "-Wextra"];

/** The path of the compiled probe (mode 0755, owned by root), building it if needed. */
export function probeBinary(): string {
  const source = readFileSync(PROBE_SOURCE);
  const hash = createHash("sha256").update(CFLAGS.join(" ")).update("\0").update(source).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `mydocker-probe-${hash}`);
  const bin = join(dir, "probe");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // another test run may be compiling the same source: each writes its own file, rename is atomic
  const partial = `${bin}.${process.pid}`;
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
  renameSync(partial, bin);
  return bin;
}
