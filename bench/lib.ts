// Shared by the bench scripts: the binaries under test, temporary roots and OCI bundles, timing of
// one command, medians, and the markdown table each script prints. Nothing here is timed itself.
import { spawnSync } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { removeTree } from "../src/fsutil";
import { dropPageCache } from "../ffi/pagecache";

export const ROOT = resolve(import.meta.dir, "..");
export const ROOTFS = resolve(ROOT, process.env.ROOTFS ?? "rootfs");
export const MYDOCKER = resolve(ROOT, process.env.MYDOCKER ?? "./mydocker");

export function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
}

/** Checks what every script needs; exits 1 with the reason otherwise. */
export function preflight(): void {
  const missing = [
    !existsSync(MYDOCKER) && `${MYDOCKER} (make build, or MYDOCKER=path)`,
    !existsSync(join(ROOTFS, "bin/busybox")) && `${ROOTFS}/bin/busybox (make rootfs)`,
    process.getuid?.() !== 0 && "root",
  ].filter(Boolean);
  if (missing.length) {
    console.error(`bench: missing: ${missing.join(", ")}`);
    process.exit(1);
  }
  // The executables' pages as after a reboot, whatever built or copied them just before: a file
  // just written sits in the page cache in large folios, and a fault maps the whole folio, so
  // the same monitor measured up to 6 MiB more PSS from a fresh build than from the same bytes
  // read back (fault-around then maps only what readahead brought in), and a fresh copy starts
  // with fewer page faults than an old one: side by side, both are read back from the disk.
  for (const exe of [MYDOCKER, process.env.MYDOCKER_BEFORE]) if (exe) dropPageCache(realpathSync(resolve(exe)));
}

/** The Makefile's BUILD_FLAGS and BYTECODE_FLAGS, less --splitting (a one-module program has nothing to split). */
export const COMPILE_FLAGS = ["--compile", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", "--compile-jit-policy=100", "--bytecode", "--format=esm"];

/**
 * bench/floor/main.ts compiled as the Makefile compiles mydocker (bytecode, the JIT policy) into
 * `out`, then dropped from the page cache as preflight drops mydocker (a fresh file would start
 * faster than one read back from the disk). Throws with bun's message when it does not build.
 */
export function buildFloor(out: string): string {
  const r = spawnSync([process.execPath, "build", ...COMPILE_FLAGS, join(ROOT, "bench/floor/main.ts"), "--outfile", out], { stdout: "ignore", stderr: "pipe" });
  if (!r.success) throw new Error(`bun build bench/floor/main.ts: ${r.stderr.toString().trim().split("\n")[0]}`);
  dropPageCache(out);
  return out;
}

/** A temp dir removed at exit (also on SIGINT/SIGTERM), after `cleanups` ran (last added first). */
const cleanups: (() => void)[] = [];
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}
function runCleanups(): void {
  while (cleanups.length) {
    try {
      cleanups.pop()!();
    } catch (e) {
      console.error(`bench: cleanup: ${(e as Error).message}`);
    }
  }
}
process.on("exit", runCleanups);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));

export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mydocker-bench-${tag}-`));
  onCleanup(() => {
    // the default network of mydockerEnv(dir)'s data root is a bridge and a table on the host
    if (existsSync(join(dir, "md-data", "networks.json"))) quiet([MYDOCKER, "network", "rm", "bridge"], mydockerEnv(dir));
    removeTree(dir); // (checked: podman's processes may still be ending there, see src/fsutil.ts)
  });
  return dir;
}

/** mydocker's environment with its own state and data roots (never /run/mydocker). */
export function mydockerEnv(dir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", MYDOCKER_ROOT: join(dir, "md-root"), MYDOCKER_DATA_ROOT: join(dir, "md-data") };
}

/** `runc spec`'s config on ROOTFS (read-only), running `args`, in `dir`. */
export function makeBundle(dir: string, args: string[]): string {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(["runc", "spec"], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  if (!r.success) throw new Error(`runc spec: ${r.stderr.toString().trim()}`);
  const file = join(dir, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  cfg.process.args = args;
  cfg.process.terminal = false;
  cfg.root = { path: ROOTFS, readonly: true };
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  return dir;
}

/**
 * Runs argv to completion; throws with its stderr when it fails. Returns stdout and the wall time.
 * `capture: false`: stdout is /dev/null and stderr a file (runc's detached container keeps runc's
 * stdio: a pipe would not end until the container does).
 */
export function timed(argv: string[], env?: Record<string, string>, capture = true): { ms: number; stdout: string } {
  const errFile = capture ? undefined : join(tmpdir(), `mydocker-bench-stderr-${process.pid}`);
  const t0 = performance.now();
  const r = spawnSync(argv, { stdin: "ignore", stdout: capture ? "pipe" : "ignore", stderr: errFile ? Bun.file(errFile) : "pipe", env: env ?? process.env, timeout: 30_000 });
  const ms = performance.now() - t0;
  const stderr = errFile ? (existsSync(errFile) ? readFileSync(errFile, "utf8") : "") : (r.stderr?.toString() ?? "");
  if (errFile) rmSync(errFile, { force: true });
  if (!r.success) throw new Error(`${argv.join(" ")}: exit ${r.exitCode ?? r.signalCode}: ${stderr.trim().slice(0, 300)}`);
  return { ms, stdout: r.stdout?.toString() ?? "" };
}

/** Like timed(), without the time, and without throwing (cleanup commands). */
export function quiet(argv: string[], env?: Record<string, string>): boolean {
  return spawnSync(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: env ?? process.env, timeout: 30_000 }).success;
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

/** The markdown table every script prints, with the date and the machine's load note. */
export function printTable(title: string, header: string[], rows: string[][], notes: string[] = []): void {
  console.log(`\n### ${title}\n`);
  console.log(`${new Date().toISOString()} · ${spawnSync(["uname", "-r"]).stdout.toString().trim()} · ${navigator.hardwareConcurrency} CPUs · load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n`);
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  for (const n of notes) console.log(`\n${n}`);
}

/**
 * N rounds of every contender once (round-robin, the first rotating), after W warm-up rounds;
 * `measure` returns one sample in ms (its own cleanup is outside the time it reports).
 */
export function interleave(contenders: { name: string; measure: (i: number) => number }[], rounds: number, warmup: number): Map<string, number[]> {
  const samples = new Map(contenders.map((c) => [c.name, [] as number[]]));
  let i = 0;
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length]!;
      const ms = c.measure(i++);
      if (round >= warmup) samples.get(c.name)!.push(ms);
    }
  }
  return samples;
}
