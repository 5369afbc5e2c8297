// Shared by the e2e tests: run the compiled ./mydocker as a user would, and take a picture of
// everything a container could leave on the host (mounts, cgroups, rootfs, processes).
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { afterEach, beforeEach, expect } from "bun:test";
import { TEST_DATA_ROOT, TEST_ROOT } from "../roots";

export const PROJECT = resolve(import.meta.dir, "../..");
export const MYDOCKER = process.env.MYDOCKER_BIN ?? join(PROJECT, "mydocker");
export const ROOTFS = join(PROJECT, "rootfs");

if (!existsSync(MYDOCKER)) throw new Error(`${MYDOCKER} is missing: run \`make build\` (make test does it)`);
if (!existsSync(join(ROOTFS, "bin/busybox"))) throw new Error(`${ROOTFS} has no busybox: run \`make rootfs\``);

/** The tests' own state and data roots (so they never touch /run/mydocker), removed at exit. */
export { TEST_DATA_ROOT, TEST_ROOT };
export const testEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", MYDOCKER_ROOT: TEST_ROOT, MYDOCKER_DATA_ROOT: TEST_DATA_ROOT });

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs `mydocker ARGS...` to completion. */
export async function mydocker(args: string[], opts: RunOptions = {}): Promise<Result> {
  const proc = Bun.spawn([MYDOCKER, ...args], {
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...testEnv(), ...opts.env },
    timeout: opts.timeoutMs ?? 30_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A container left running in the background; read its output line by line. */
export function startContainer(args: string[]) {
  const proc = Bun.spawn([MYDOCKER, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: testEnv() });
  const reader = proc.stdout.getReader();
  let buffered = "";
  const decoder = new TextDecoder();
  return {
    proc,
    /** the next line of the container's stdout */
    async line(): Promise<string> {
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl >= 0) {
          const l = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          return l;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`container ended before a full line; had: ${JSON.stringify(buffered)}`);
        buffered += decoder.decode(value);
      }
    },
    async finish(): Promise<Result> {
      proc.stdin.write("\n");
      proc.stdin.end();
      let rest = buffered;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += decoder.decode(value);
      }
      return { code: await proc.exited, stdout: rest, stderr: await new Response(proc.stderr).text() };
    },
  };
}

// ---------------------------------------------------------------- the host's state

/** Mount points of this (the host's) mount namespace. */
export function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").trim().split("\n").map((l) => l.split(" ")[4]!).sort();
}

/** v2: the leaf mydocker moves its caller's cgroup's processes into (src/cgroups/v2.ts HOST_LEAF). */
const HOST_LEAF = "mydocker-host";

/** v1: controller -> own path; v2: "" -> own path. From /proc/self/cgroup. On v2, once a container
 *  started from a cgroup that holds processes (a login session), we live in `<own>/mydocker-host`
 *  and containers still go under `<own>`: that is the own path, as for mydocker itself. */
function ownCgroups(): [mountDir: string, own: string][] {
  const out: [string, string][] = [];
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  for (const line of readFileSync("/proc/self/cgroup", "utf8").trim().split("\n")) {
    const [, controllers, path] = line.split(":") as [string, string, string];
    if (v2 && controllers === "") out.push(["/sys/fs/cgroup", basename(path) === HOST_LEAF ? dirname(path) : path]);
    if (!v2 && controllers !== "" && !controllers.startsWith("name=")) out.push([`/sys/fs/cgroup/${controllers}`, path]);
  }
  return out;
}

/** Every cgroup directory below the test's own cgroups (depth-limited: ours sit 2 levels down).
 *  `<own>/mydocker-host` itself is not listed — it holds this test runner, which the first
 *  container moved there and which stays — but anything below it is. */
export function cgroupTree(depth = 3): string[] {
  const dirs: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d > depth) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!(d === 1 && e.name === HOST_LEAF)) dirs.push(join(dir, e.name));
        walk(join(dir, e.name), d + 1);
      }
    }
  };
  for (const [mount, own] of ownCgroups()) if (existsSync(join(mount, own))) walk(join(mount, own), 1);
  return dirs.sort();
}

/** The rootfs as names and modes (mtimes change when a container comes and goes; content must not). */
export function rootfsListing(dir = ROOTFS): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${p.slice(dir.length)} ${st.mode.toString(8)} ${st.isSymbolicLink() ? readlinkSync(p) : st.size}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Processes running our binary (the init before execve, or a stray mydocker). */
export function mydockerProcesses(): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${e}/exe`) === MYDOCKER) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

export interface HostSnapshot {
  mounts: string[];
  cgroups: string[];
  rootfs: string[];
}

export function hostSnapshot(): HostSnapshot {
  return { mounts: hostMounts(), cgroups: cgroupTree(), rootfs: rootfsListing() };
}

/** Writable layers in the test data root whose container has no record (each goes with its container). */
export function orphanLayers(): string[] {
  const dir = join(TEST_DATA_ROOT, "containers");
  return existsSync(dir) ? readdirSync(dir).filter((id) => !existsSync(join(TEST_ROOT, id))).sort() : [];
}

/** Asserts the host is as `before`, that no mydocker process is left, and no writable layer outlived its container. */
export async function expectHostUnchanged(before: HostSnapshot): Promise<void> {
  // A container's last process may need a moment to be reaped after `mydocker` returned, and a
  // monitor a moment to finish its teardown: up to 5 s on a loaded machine (at once when none is left).
  for (let i = 0; i < 250 && mydockerProcesses().length; i++) await Bun.sleep(20);
  expect(mydockerProcesses()).toEqual([]);
  const after = hostSnapshot();
  expect(after.mounts).toEqual(before.mounts);
  expect(after.cgroups).toEqual(before.cgroups);
  expect(after.rootfs).toEqual(before.rootfs);
  expect(orphanLayers()).toEqual([]);
}

/** The container's cgroup directory in `controller`'s hierarchy (v1) or the v2 tree, from its short id. */
export function containerCgroupDir(shortId: string, controller: string): string {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  for (const [mount, own] of ownCgroups()) {
    if (!v2 && !mount.split("/").pop()!.split(",").includes(controller)) continue;
    const base = join(mount, own, "mydocker");
    const hit = existsSync(base) ? readdirSync(base).find((n) => n.startsWith(shortId)) : undefined;
    if (hit) return join(base, hit);
  }
  throw new Error(`no ${controller} cgroup for container ${shortId}`);
}

/** Namespace identities (`mnt:[4026531840]`) of a process. */
export function namespacesOf(pid: number | "self"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ns of ["pid", "mnt", "net", "uts", "ipc", "cgroup"]) out[ns] = readlinkSync(`/proc/${pid}/ns/${ns}`);
  return out;
}

/**
 * For the calling test file: a picture of the host before each test; after it, every container
 * the test left is removed (rm -f) and the host must be exactly as before.
 */
export function checkHostAroundEachTest(alsoAfter?: () => void | Promise<void>): void {
  let before: HostSnapshot;
  beforeEach(() => {
    before = hostSnapshot();
  });
  afterEach(async () => {
    const left = (await mydocker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (left.length) await mydocker(["rm", "-f", ...left]);
    await expectHostUnchanged(before);
    await alsoAfter?.();
  });
}
