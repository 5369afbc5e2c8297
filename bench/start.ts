#!/usr/bin/env bun
// Start-to-exit latency of `mydocker run /bin/true` against runc, crun and a bare
// `unshare … chroot`, measured side by side: every round runs each command once
// (round-robin, the starting command rotating each round), N rounds. Two rows give the floor
// of mydocker's design (bench/floor/main.ts, compiled here): a Bun process that spawns itself
// as an init which pivots and execs, and the same two Bun starts doing nothing.
//
//   bun bench/start.ts                      # or: make bench
//   BENCH_RUNS=20 bun bench/start.ts        # rounds (default 100)
//   MYDOCKER=/path/to/bin bun bench/start.ts
//   MYDOCKER_BEFORE=/path/to/older/bin bun bench/start.ts   # adds a row: an older build, same flags
//
// env: BENCH_RUNS (100), BENCH_WARMUP (3), MYDOCKER (./mydocker),
//      MYDOCKER_ARGS ("run --rm --network none /bin/true"), ROOTFS (./rootfs)
// Writes bench/out/start.json. Exits 1 when mydocker itself could not be measured.
import { spawnSync } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dropPageCache } from "../ffi/pagecache";
import { buildFloor } from "./lib";

const ROOT = resolve(import.meta.dir, "..");
const RUNS = intEnv("BENCH_RUNS", 100);
const WARMUP = intEnv("BENCH_WARMUP", 3);
const ROOTFS = resolve(ROOT, process.env.ROOTFS ?? "rootfs");
const MYDOCKER_RAW = process.env.MYDOCKER ?? "./mydocker";
// --network none: a network namespace with lo only, as runc's and crun's bundles have (the
// default bridge is its own row, and bench/network.ts measures it alone)
const MYDOCKER_ARGS = (process.env.MYDOCKER_ARGS ?? "run --rm --network none /bin/true").split(/\s+/).filter(Boolean);
const RUN_TIMEOUT_MS = 30_000;

function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

type Result = { ok: true; ms: number } | { ok: false; ms: number; reason: string };

interface Contender {
  name: string;
  note?: string;
  argv: (i: number) => string[];
  available: boolean;
  reason?: string;
  samples: number[];
  failures: number;
  lastFailure?: string;
  rssKiB?: number;
}

// ---------------------------------------------------------------- helpers

function which(cmd: string): string | null {
  return Bun.which(cmd);
}

function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ""
  ).slice(0, 160);
}

function runOnce(argv: string[]): Result {
  const t0 = performance.now();
  let r;
  try {
    r = spawnSync(argv, {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      timeout: RUN_TIMEOUT_MS,
      env: process.env,
    });
  } catch (e) {
    return { ok: false, ms: performance.now() - t0, reason: String((e as Error).message ?? e) };
  }
  const ms = performance.now() - t0;
  if (r.success) return { ok: true, ms };
  const err = firstLine(r.stderr?.toString() ?? "");
  const how = r.signalCode ? `signal ${r.signalCode}` : `exit ${r.exitCode}`;
  return { ok: false, ms, reason: err ? `${how}: ${err}` : how };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** Peak RSS (KiB) of a command via /usr/bin/time -f %M (max over the process and its waited-for children). */
function peakRssKiB(argv: string[], reps = 3): number | undefined {
  if (!existsSync("/usr/bin/time")) return undefined;
  const vals: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r = spawnSync(["/usr/bin/time", "-f", "@@RSS %M", ...argv], {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      timeout: RUN_TIMEOUT_MS,
    });
    const m = /@@RSS (\d+)/.exec(r.stderr?.toString() ?? "");
    if (r.success && m) vals.push(Number(m[1]));
  }
  return vals.length ? median(vals) : undefined;
}

// ---------------------------------------------------------------- temp dirs & cleanup

let tmp: string | null = null;
const stateDirs: { tool: "runc" | "crun"; dir: string }[] = [];

/** Whether the data root had its default network before this bench (the bridge row makes it). */
const networkStore = join(process.env.MYDOCKER_DATA_ROOT || "/var/lib/mydocker", "networks.json");
const hadNetworkStore = existsSync(networkStore);
const hadDefaultNetwork = (() => {
  try {
    return readFileSync(networkStore, "utf8").includes('"isDefault": true');
  } catch {
    return false;
  }
})();

function cleanup(): void {
  // leave the host's networks as found: the default bridge goes again if the bench made it, and
  // the store with it when the bench made that too (and nothing else is in it)
  if (!hadDefaultNetwork) spawnSync([resolve(ROOT, MYDOCKER_RAW), "network", "rm", "bridge"], { stdout: "ignore", stderr: "ignore" });
  try {
    if (!hadNetworkStore && JSON.parse(readFileSync(networkStore, "utf8")).networks.length === 0) {
      for (const f of [networkStore, networkStore.replace(/\.json$/, ".lock")]) rmSync(f, { force: true });
    }
  } catch {
    // no store, or one in use: left as it is
  }
  for (const { tool, dir } of stateDirs) {
    if (!existsSync(dir)) continue;
    const ls = spawnSync([tool, "--root", dir, "list", "-q"], { stdout: "pipe", stderr: "ignore" });
    for (const id of (ls.stdout?.toString() ?? "").split("\n").map((s) => s.trim()).filter(Boolean)) {
      spawnSync([tool, "--root", dir, "delete", "-f", id], { stdout: "ignore", stderr: "ignore" });
    }
  }
  stateDirs.length = 0;
  if (tmp) {
    rmSync(tmp, { recursive: true, force: true });
    tmp = null;
  }
}

process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

/**
 * `runc spec`'s config, or (hardened) the same with docker's defaults as mydocker applies them:
 * docker's 14 capabilities, docker's seccomp profile (as OCI linux.seccomp), masked/read-only paths.
 */
async function makeBundle(dir: string, hardened = false): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(["runc", "spec"], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  if (!r.success) throw new Error(`runc spec failed: ${firstLine(r.stderr?.toString() ?? "")}`);
  const file = join(dir, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  cfg.process.args = ["/bin/true"];
  cfg.process.terminal = false;
  cfg.root = { path: ROOTFS, readonly: false };
  if (hardened) {
    const { DEFAULT_CAPABILITIES } = await import("../src/security/capabilities");
    const { toOciSeccomp, DEFAULT_PROFILE } = await import("../src/security/seccomp-profile");
    const { MASKED_PATHS, READONLY_PATHS } = await import("../src/security/defaults");
    const caps = DEFAULT_CAPABILITIES;
    cfg.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
    cfg.linux.seccomp = toOciSeccomp(DEFAULT_PROFILE, caps);
    cfg.linux.maskedPaths = MASKED_PATHS;
    cfg.linux.readonlyPaths = READONLY_PATHS;
  }
  writeFileSync(file, JSON.stringify(cfg, null, 2));
}

// ---------------------------------------------------------------- contenders

function setup(): Contender[] {
  const isRoot = process.getuid?.() === 0;
  const list: Contender[] = [];
  const mk = (name: string, argv: (i: number) => string[], note?: string): Contender => ({
    name,
    note,
    argv,
    available: true,
    samples: [],
    failures: 0,
  });
  const unavailable = (c: Contender, reason: string): Contender => {
    c.available = false;
    c.reason = reason;
    return c;
  };

  // (a) mydocker
  const mdPath = MYDOCKER_RAW.includes("/") ? resolve(ROOT, MYDOCKER_RAW) : (which(MYDOCKER_RAW) ?? MYDOCKER_RAW);
  const md = mk("mydocker", () => [mdPath, ...MYDOCKER_ARGS], `${MYDOCKER_RAW} ${MYDOCKER_ARGS.join(" ")}`);
  if (!existsSync(mdPath)) unavailable(md, `${MYDOCKER_RAW} not found — run \`make build\` first`);
  else if (!(statSync(mdPath).mode & 0o111)) unavailable(md, `${MYDOCKER_RAW} is not executable`);
  list.push(md);

  // (a1) an older build of mydocker, side by side (its default rootfs would be beside it: both get ROOTFS)
  const before = process.env.MYDOCKER_BEFORE;
  if (before) {
    process.env.MYDOCKER_ROOTFS ||= ROOTFS;
    const b = mk("mydocker before", () => [resolve(before), ...MYDOCKER_ARGS], `${before} ${MYDOCKER_ARGS.join(" ")} (MYDOCKER_BEFORE)`);
    if (!existsSync(resolve(before))) unavailable(b, `${before} not found`);
    list.push(b);
  }

  // (a2) mydocker on an image: the same root as an overlay (busybox:latest, which `make rootfs` imports)
  const dataRoot = process.env.MYDOCKER_DATA_ROOT || "/var/lib/mydocker";
  const mdImage = mk("mydocker image", () => [mdPath, "run", "--rm", "--network", "none", "busybox:latest", "/bin/true"], `${MYDOCKER_RAW} run --rm --network none busybox:latest /bin/true (overlay)`);
  let repos = "";
  try {
    repos = readFileSync(join(dataRoot, "repositories.json"), "utf8");
  } catch {}
  if (!md.available) unavailable(mdImage, md.reason ?? "mydocker unavailable");
  else if (!repos.includes('"busybox:latest"')) unavailable(mdImage, `no busybox:latest in ${dataRoot} (make rootfs imports it)`);
  list.push(mdImage);

  // (a3) the cost of hardening: the same start without seccomp, and privileged (no seccomp, no
  // masked paths, every capability and device)
  for (const [name, flags] of [
    ["mydocker bridge", []],
    ["mydocker unconfined", ["--network", "none", "--security-opt", "seccomp=unconfined"]],
    ["mydocker privileged", ["--network", "none", "--privileged"]],
  ] as const) {
    const c = mk(name, () => [mdPath, "run", "--rm", ...flags, "/bin/true"], `${MYDOCKER_RAW} run --rm ${flags.join(" ")} /bin/true`);
    if (!md.available) unavailable(c, md.reason ?? "mydocker unavailable");
    list.push(c);
  }

  const pid = process.pid;
  // (b) runc
  const runc = mk("runc", (i) => ["runc", "--root", join(tmp!, "runc-state"), "run", "--bundle", join(tmp!, "bundle"), `mdbench-${pid}-r${i}`], "runc run (OCI bundle on the same rootfs)");
  if (!which("runc")) unavailable(runc, "runc not installed (make deps)");
  else if (!isRoot) unavailable(runc, "needs root");
  list.push(runc);

  // (b1) mydocker's OCI command line on runc's bundle (a `mydocker-runc` symlink, as engines call it)
  const ociLink = () => join(tmp!, "mydocker-runc");
  const mdOci = mk("mydocker-runc", (i) => [ociLink(), "--root", join(tmp!, "mydocker-runc-state"), "run", "--bundle", join(tmp!, "bundle"), `mdbench-${pid}-o${i}`], "mydocker-runc run (the same bundle as runc)");
  if (!md.available) unavailable(mdOci, md.reason ?? "mydocker unavailable");
  list.push(mdOci);

  // (b2) runc with docker's defaults (14 capabilities, docker's seccomp profile, masked paths)
  const runcDocker = mk("runc docker-profile", (i) => ["runc", "--root", join(tmp!, "runc-state"), "run", "--bundle", join(tmp!, "bundle-hardened"), `mdbench-${pid}-h${i}`], "runc run with docker's capabilities, seccomp profile and masked paths");
  if (!runc.available) unavailable(runcDocker, runc.reason ?? "runc unavailable");
  list.push(runcDocker);

  // (c) unshare + chroot
  const uns = mk("unshare+chroot", () => ["unshare", "-fmpiun", "--mount-proc", "chroot", ROOTFS, "/bin/true"], "unshare -fmpiun --mount-proc chroot ROOTFS /bin/true");
  if (!which("unshare")) unavailable(uns, "unshare not installed (util-linux)");
  else if (!isRoot) unavailable(uns, "needs root");
  list.push(uns);

  // (c1) the design's floor: two Bun processes and the fewest kernel steps (bench/floor/main.ts),
  // and two bare Bun starts
  const floorBin = join(tmp!, "floor");
  const floor = mk("floor", () => [floorBin, ROOTFS, "/bin/true"], "bench/floor: a Bun process spawning itself as an init that pivots and execs (no cgroup, record or hardening)");
  const bare = mk("floor --bare", () => [floorBin, "--bare"], "bench/floor --bare: a Bun process spawning itself, which exits at once");
  try {
    buildFloor(floorBin);
    if (!isRoot) unavailable(floor, "needs root");
  } catch (e) {
    for (const c of [floor, bare]) unavailable(c, (e as Error).message);
  }
  list.push(floor, bare);

  // (d) crun, only if installed
  if (which("crun")) {
    const crunArgv = (i: number) => ["crun", "--root", join(tmp!, "crun-state"), "run", "--bundle", join(tmp!, "bundle"), `mdbench-${pid}-c${i}`];
    const crun = mk("crun", crunArgv, "crun run");
    if (!isRoot) unavailable(crun, "needs root");
    list.push(crun);
  }
  return list;
}

function preflight(cs: Contender[]): void {
  for (const c of cs) {
    if (!c.available) continue;
    const r = runOnce(c.argv(-1));
    if (r.ok) continue;
    if (c.name === "crun" && /hybrid/i.test(r.reason)) {
      // crun 1.8.x refuses hybrid cgroup hosts ("cgroups in hybrid mode not supported").
      // Run it in a private mount namespace where the cgroup2 mount is lazily unmounted.
      const direct = c.argv;
      const wrapped = (i: number) => [
        "unshare",
        "-m",
        "sh",
        "-c",
        'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"',
        "sh",
        ...direct(i),
      ];
      const r2 = runOnce(wrapped(-2));
      if (r2.ok) {
        c.argv = wrapped;
        c.name = "crun*";
        c.note = "unshare -m sh -c 'umount -l /sys/fs/cgroup/unified; exec crun run …' (hybrid-cgroup workaround; includes unshare+sh)";
        continue;
      }
      c.available = false;
      c.reason = `${r.reason}; with workaround: ${r2.reason}`;
      continue;
    }
    c.available = false;
    c.reason = r.reason;
  }
}

// ---------------------------------------------------------------- main

function fmt(n: number | undefined, digits = 2): string {
  return n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits);
}

async function main(): Promise<number> {
  if (!existsSync(join(ROOTFS, "bin", "true")) && !existsSync(join(ROOTFS, "bin", "busybox"))) {
    console.error(`bench: ${ROOTFS} has no /bin/true — run \`make rootfs\` first`);
    return 1;
  }
  tmp = mkdtempSync(join(tmpdir(), "mydocker-bench-"));
  stateDirs.push({ tool: "runc", dir: join(tmp, "runc-state") }, { tool: "crun", dir: join(tmp, "crun-state") });

  const cs = setup();
  const usesBundle = (c: Contender) => c.name.startsWith("runc") || c.name === "crun" || c.name === "mydocker-runc";
  const mdBin = cs.find((c) => c.name === "mydocker")?.argv(0)[0];
  if (mdBin) symlinkSync(mdBin, join(tmp, "mydocker-runc"));
  if (cs.some((c) => c.available && usesBundle(c))) {
    try {
      await makeBundle(join(tmp, "bundle"));
      await makeBundle(join(tmp, "bundle-hardened"), true);
    } catch (e) {
      for (const c of cs) if (usesBundle(c)) Object.assign(c, { available: false, reason: String((e as Error).message) });
    }
  }
  preflight(cs);
  // both builds as after a reboot, read back from the disk (bench/lib.ts preflight says why)
  for (const exe of [mdBin, process.env.MYDOCKER_BEFORE]) if (exe && existsSync(exe)) dropPageCache(realpathSync(resolve(exe)));
  const live = cs.filter((c) => c.available);

  console.log(`bench: start-to-exit of /bin/true, ${RUNS} runs each (+${WARMUP} warm-up), interleaved round-robin`);
  console.log(`bench: rootfs ${ROOTFS}`);
  for (const c of cs) if (!c.available) console.log(`${c.name}: unavailable (${c.reason})`);
  if (live.length === 0) {
    console.error("bench: nothing to measure");
    return 1;
  }

  let id = 0;
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (let k = 0; k < live.length; k++) {
      const c = live[(round + k) % live.length]!;
      const r = runOnce(c.argv(id++));
      if (round < WARMUP) continue;
      if (r.ok) c.samples.push(r.ms);
      else {
        c.failures++;
        c.lastFailure = r.reason;
      }
    }
  }
  for (const c of live) c.rssKiB = peakRssKiB(c.argv(id++));

  // ---- report
  const rows = cs.map((c) => {
    const s = [...c.samples].sort((a, b) => a - b);
    return { c, med: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9) };
  });
  const base = rows.find((r) => r.c.name === "mydocker" && r.c.samples.length > 0)?.med;
  const header = ["command", "median ms", "p10 ms", "p90 ms", "vs mydocker", "peak RSS MiB", "ok/runs"];
  const table = rows.map(({ c, med, p10, p90 }) =>
    c.available
      ? [
          c.name,
          fmt(med),
          fmt(p10),
          fmt(p90),
          base && c.samples.length ? `${(med / base).toFixed(2)}x` : "n/a",
          c.rssKiB ? (c.rssKiB / 1024).toFixed(1) : "-",
          `${c.samples.length}/${c.samples.length + c.failures}`,
        ]
      : [c.name, "unavailable", "", "", "", "", ""],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ");
  console.log("");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of table) console.log(line(r));
  console.log("");
  for (const c of cs) {
    if (c.note) console.log(`  ${c.name}: ${c.note}`);
    if (c.failures) console.log(`  ${c.name}: ${c.failures} failed run(s), last: ${c.lastFailure}`);
  }

  const md = cs.find((c) => c.name === "mydocker")!;
  if (md.available && md.samples.length) {
    console.log(
      md.rssKiB
        ? `mydocker parent peak RSS: ${(md.rssKiB / 1024).toFixed(1)} MiB (${md.rssKiB} KiB, /usr/bin/time -f %M, median of 3)`
        : "mydocker parent peak RSS: n/a (/usr/bin/time missing: apt-get install time)",
    );
  }

  // machine-readable copy
  const outDir = join(ROOT, "bench", "out");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, "start.json"),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        runs: RUNS,
        warmup: WARMUP,
        rootfs: ROOTFS,
        results: rows.map(({ c, med, p10, p90 }) => ({
          name: c.name,
          available: c.available,
          reason: c.reason,
          note: c.note,
          median_ms: c.samples.length ? med : null,
          p10_ms: c.samples.length ? p10 : null,
          p90_ms: c.samples.length ? p90 : null,
          ratio_vs_mydocker: base && c.samples.length ? med / base : null,
          peak_rss_kib: c.rssKiB ?? null,
          ok: c.samples.length,
          failed: c.failures,
        })),
      },
      null,
      2,
    ) + "\n",
  );

  if (!md.available) {
    console.error(`\nbench: mydocker could not be measured: ${md.reason}`);
    return 1;
  }
  if (md.samples.length === 0) {
    console.error(`\nbench: every mydocker run failed: ${md.lastFailure}`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} finally {
  cleanup();
}
process.exit(code);
