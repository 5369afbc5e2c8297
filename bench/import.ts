#!/usr/bin/env bun
// Import throughput: `mydocker import` of a generated ~200 MB tar (and its gzip) against GNU
// `tar -x` of the same archive into an empty directory, median of a few runs, as MB/s of
// uncompressed tar. Both read a warm page cache and write without fsync (a `sync` runs before
// each timed run); mydocker also hashes (sha256), records the tar-split and renames the layer
// into place. Not part of `make test`.
//
//   bun bench/import.ts                 # BENCH_RUNS=5 BENCH_MB=200 MYDOCKER=./mydocker
import { spawnSync } from "bun";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const ROOT = resolve(import.meta.dir, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MB = Number(process.env.BENCH_MB ?? 200);
const MYDOCKER = resolve(ROOT, process.env.MYDOCKER ?? "mydocker");

const work = mkdtempSync(join(tmpdir(), "mydocker-bench-import-"));
try {
  // A rootfs-like mix: many small files, some medium, a few large; half compressible text.
  const tree = join(work, "tree");
  let bytes = 0;
  let files = 0;
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const noise = Buffer.from(crypto.getRandomValues(new Uint8Array(1 << 16)));
  while (bytes < MB * 1e6) {
    const dir = join(tree, `d${Math.floor(files / 100)}`, `s${files % 7}`);
    mkdirSync(dir, { recursive: true });
    const r = rand();
    const size = r < 0.7 ? Math.floor(rand() * 8_000) : r < 0.97 ? Math.floor(rand() * 400_000) : Math.floor(rand() * 8_000_000);
    const buf = Buffer.allocUnsafe(size);
    for (let o = 0; o < size; o += noise.length) (files % 2 ? noise : Buffer.from("lorem ipsum dolor sit amet ".repeat(2500))).copy(buf, o, 0, Math.min(noise.length, size - o));
    writeFileSync(join(dir, `f${files}`), buf);
    bytes += size;
    files++;
  }
  const tar = join(work, "tree.tar");
  must(spawnSync(["tar", "--numeric-owner", "-cf", tar, "-C", tree, "."]));
  rmSync(tree, { recursive: true });
  writeFileSync(`${tar}.gz`, gzipSync(readFileSync(tar), { level: 1 }));
  const tarMB = statSync(tar).size / 1e6;
  console.log(`archive: ${files} files, ${tarMB.toFixed(1)} MB tar, ${(statSync(`${tar}.gz`).size / 1e6).toFixed(1)} MB gzip; ${RUNS} runs each, interleaved`);

  const contenders: { name: string; run: (i: number) => string[]; env?: (i: number) => Record<string, string>; prep: (i: number) => void; samples: number[] }[] = [];
  const target = (i: number) => join(work, `x${i}`);
  const dataRoot = (i: number) => join(work, `data${i}`);
  for (const [label, file] of [["tar", tar], ["tar.gz", `${tar}.gz`]] as const) {
    contenders.push({
      name: `mydocker import (${label})`,
      run: (i) => [MYDOCKER, "import", file, `bench:${i}`],
      env: (i) => ({ MYDOCKER_DATA_ROOT: dataRoot(i) }),
      prep: (i) => rmSync(dataRoot(i), { recursive: true, force: true }),
      samples: [],
    });
    contenders.push({
      name: `GNU tar -x (${label})`,
      run: (i) => ["tar", "--numeric-owner", "-xpf", file, "-C", target(i)],
      prep: (i) => {
        rmSync(target(i), { recursive: true, force: true });
        mkdirSync(target(i));
      },
      samples: [],
    });
  }
  for (let i = 0; i < RUNS + 1; i++) {
    for (const c of contenders) {
      c.prep(i);
      spawnSync(["sync"]); // start each run without the previous one's writeback pending
      const t0 = performance.now();
      must(spawnSync(c.run(i), { env: { PATH: process.env.PATH!, ...c.env?.(i) } }));
      const ms = performance.now() - t0;
      if (i > 0) c.samples.push(ms); // the first round warms the page cache
      rmSync(target(i), { recursive: true, force: true });
      rmSync(dataRoot(i), { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = Object.fromEntries(contenders.map((c) => [c.name, median(c.samples)]));
  console.log("\n| command | median ms | MB/s (uncompressed) | vs GNU tar |");
  console.log("| --- | --- | --- | --- |");
  for (const c of contenders) {
    const ms = median(c.samples);
    const tarName = c.name.replace(/^mydocker import/, "GNU tar -x");
    console.log(`| ${c.name} | ${ms.toFixed(0)} | ${(tarMB / (ms / 1000)).toFixed(0)} | ${(ms / base[tarName]!).toFixed(2)}x |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

function must(r: { exitCode: number | null; stderr?: Uint8Array | Buffer }) {
  if (r.exitCode !== 0) throw new Error(`failed: ${r.stderr?.toString()}`);
}
