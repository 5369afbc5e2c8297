#!/usr/bin/env bun
// What seccomp costs a container start: compiling the default profile with libseccomp (in a
// fresh process, which also dlopens libseccomp, and again in a warm one), reading the program
// back from the cache, and loading it with seccomp(2) in a child (test/unit/seccomp-probe.ts).
//
//   bun bench/seccomp.ts               # BENCH_RUNS=20 by default
//
// Prints medians in ms and the program's size; writes bench/out/seccomp.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compileSeccomp, seccompProgram } from "../src/security/seccomp";
import { DEFAULT_PROFILE, toOciSeccomp } from "../src/security/seccomp-profile";

const ROOT = resolve(import.meta.dir, "..");
const RUNS = Number.parseInt(process.env.BENCH_RUNS ?? "20", 10);
const DOCKER_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const time = (f: () => unknown) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

const work = mkdtempSync(join(tmpdir(), "mydocker-bench-seccomp-"));
try {
  const config = toOciSeccomp(DEFAULT_PROFILE, DOCKER_CAPS);
  const names = new Set(config.syscalls!.flatMap((r) => r.names)).size;

  // A fresh process per run: what `mydocker run` pays on a cache miss / hit.
  const fresh = (cacheDir: string) => {
    const script = `
      import { seccompProgram } from ${JSON.stringify(join(ROOT, "src/security/seccomp"))};
      const config = ${JSON.stringify(config)};
      const t = performance.now();
      seccompProgram(config, ${JSON.stringify(cacheDir)});
      console.log(performance.now() - t);`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("child failed");
    return Number(r.stdout.toString());
  };
  const coldCompile: number[] = [];
  const coldHit: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cache = join(work, `cache-${i}`);
    coldCompile.push(fresh(cache));
    coldHit.push(fresh(cache));
  }

  compileSeccomp(config);
  const warmCompile = Array.from({ length: RUNS }, () => time(() => compileSeccomp(config)));
  const cache = join(work, "cache");
  const bpf = seccompProgram(config, cache);
  const warmHit = Array.from({ length: RUNS * 10 }, () => time(() => seccompProgram(config, cache)));
  const x86_64Only = compileSeccomp({ ...config, architectures: ["SCMP_ARCH_X86_64"] });

  // Loading: one filter per child (filters stack; a process cannot drop one).
  const bpfFile = join(work, "default.bpf");
  writeFileSync(bpfFile, bpf);
  const probe = join(ROOT, "test/unit/seccomp-probe.ts");
  const load = (mode: string) => {
    const r = Bun.spawnSync([process.execPath, probe, bpfFile, mode, work], { stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("probe failed");
    return JSON.parse(r.stdout.toString()).loadMs as number;
  };
  // "nnp": prctl(PR_SET_NO_NEW_PRIVS) first, which warms the syscall trampoline, so this is seccomp(2) alone
  const loadWarm = Array.from({ length: RUNS }, () => load("nnp"));
  const loadFirst = Array.from({ length: RUNS }, () => load(""));

  const result = {
    runs: RUNS,
    namesInConfig: names,
    instructions: bpf.length / 8,
    instructionsX86_64Only: x86_64Only.length / 8,
    bytes: bpf.length,
    ms: {
      compileFreshProcess: median(coldCompile),
      compileWarm: median(warmCompile),
      cacheHitFreshProcess: median(coldHit),
      cacheHitWarm: median(warmHit),
      loadSyscall: median(loadWarm),
      loadFirstCall: median(loadFirst),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(ROOT, "bench/out"), { recursive: true });
  writeFileSync(join(ROOT, "bench/out/seccomp.json"), JSON.stringify(result, null, 2) + "\n");
} finally {
  rmSync(work, { recursive: true, force: true });
}
