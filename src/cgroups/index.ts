/**
 * cgroup management: version detection, the shared Cgroup interface, the factory, and the small
 * sync fs helpers both managers use. Everything here is synchronous (node:fs *Sync) because it
 * may run while the caller's thread is inside another namespace.
 *
 * v1.ts / v2.ts import the helpers below, and this file imports them back (a module cycle).
 * That is safe: the helpers are hoisted function declarations, and nothing runs at load time.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statfsSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, posix } from "node:path";
import type { DeviceRule } from "../spec";
import { CgroupV1 } from "./v1.ts";
import { CgroupV2 } from "./v2.ts";

export interface CgroupResources {
  memory?: { limit?: number }; // bytes
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  /** the device allow/deny list (v1: devices.allow/deny; v2: a BPF_PROG_TYPE_CGROUP_DEVICE program) */
  devices?: DeviceRule[];
}

export interface Cgroup {
  readonly version: 1 | 2;
  /** path inside the hierarchy, e.g. "/process_api/abc/mydocker/<id>" (v1: of the memory controller) */
  readonly path: string;
  /** mkdir everything needed, write the limits. On failure: remove what it created, then throw ("write cpuset.cpus: EINVAL"). */
  create(resources: CgroupResources): void;
  /** write new limits (memory, cpu, cpuset, pids) into the existing cgroup */
  update(resources: CgroupResources): void;
  /**
   * v1: the files a process's thread writes `0` into to join the cgroup by itself (`tasks` of
   * each hierarchy); undefined on v2, where the parent moves the process (addProcess). See
   * src/engine/container.ts for why a thread joining by itself is much faster.
   */
  selfJoinFiles(): string[] | undefined;
  /** v2: the directory a process can be born into (clone3 CLONE_INTO_CGROUP); undefined on v1 */
  birthDir(): string | undefined;
  /** move a pid into the cgroup (every v1 hierarchy we use / the v2 dir) via cgroup.procs */
  addProcess(pid: number): void;
  /** true when the kernel OOM killer killed something in this cgroup */
  oomKilled(): boolean;
  /** pids currently in the cgroup */
  pids(): number[];
  /** absolute path of a control file (v1 picks the hierarchy from the name's prefix; "tasks"/"cgroup.*" -> memory) */
  file(name: string): string;
  /** freeze / thaw (v1 freezer.state, v2 cgroup.freeze) */
  setFrozen(frozen: boolean): void;
  /** SIGKILL anything left, rmdir what this cgroup created (child first), retrying on EBUSY. Idempotent. */
  destroy(): void;
}

export interface CgroupOptions {
  id: string; // container id; leaf dir name
  parent?: string; // --cgroup-parent: absolute path inside the hierarchy; leaf = parent/id
  root?: string; // mount root, default "/sys/fs/cgroup"
  selfCgroup?: string; // text of /proc/self/cgroup, default the real file
  mountinfo?: string; // text of /proc/self/mountinfo (v1 mount discovery), default the real file
}

export const DEFAULT_ROOT = "/sys/fs/cgroup";

/** 2 when `${root}/cgroup.controllers` exists (a pure v2 / unified mount), else 1 (v1 or hybrid). */
export function detectCgroupVersion(root: string = DEFAULT_ROOT): 1 | 2 {
  return existsSync(`${root}/cgroup.controllers`) ? 2 : 1;
}

/** Builds a manager. Only reads /proc; the cgroup filesystem is not touched until create(). */
export function openCgroup(opts: CgroupOptions): Cgroup {
  const { id } = opts;
  if (!id || id === "." || id === ".." || /[/\0]/.test(id)) throw new Error(`invalid cgroup id: ${JSON.stringify(id)}`);
  if (opts.parent !== undefined && !opts.parent.startsWith("/")) {
    throw new Error(`cgroup parent must be an absolute path: ${opts.parent}`);
  }
  const root = opts.root ?? DEFAULT_ROOT;
  const self = parseSelfCgroup(opts.selfCgroup ?? readFileSync("/proc/self/cgroup", "utf8"));
  const parent = opts.parent === undefined ? undefined : posix.normalize(opts.parent);
  if (detectCgroupVersion(root) === 2) return new CgroupV2({ id, parent, root, self });
  // Fake trees (custom root, no mountinfo) are laid out as `${root}/<controller>`.
  const mountinfo = opts.mountinfo ?? (root === DEFAULT_ROOT ? readFileSync("/proc/self/mountinfo", "utf8") : undefined);
  return new CgroupV1({ id, parent, root, self, mountinfo });
}

// ---------------------------------------------------------------------------------------------
// helpers shared by v1.ts and v2.ts

/** /proc/self/cgroup lines are "hierarchy-id:controller-list:path" (cgroups(7)); v2 uses "0::path".
 *  Returns controller -> path; the v2 line is keyed "" and "name=systemd" keeps its name. */
export function parseSelfCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, list = "", path = "/"] = m;
    if (list === "") out.set("", path || "/");
    else for (const c of list.split(",")) out.set(c, path || "/");
  }
  return out;
}

/** Controllers the requested resources need. */
export function requestedControllers(res: CgroupResources): string[] {
  const out: string[] = [];
  if (res.memory?.limit !== undefined) out.push("memory");
  const cpu = res.cpu ?? {};
  if (cpu.shares !== undefined || cpu.quota !== undefined || cpu.period !== undefined) out.push("cpu");
  if (cpu.cpus !== undefined || cpu.mems !== undefined) out.push("cpuset");
  if (res.pids?.limit !== undefined) out.push("pids");
  return out;
}

export const cgJoin = (...parts: string[]): string => posix.join(...parts);

/** Ancestors of `leaf` from `from` (inclusive; an ancestor of leaf) down to leaf's parent. */
export function ancestorsBelow(from: string, leaf: string): string[] {
  const out: string[] = [];
  for (let p = posix.dirname(leaf); ; p = posix.dirname(p)) {
    out.unshift(p);
    if (p === from || p === "/") return out;
  }
}

/** One-line error naming the operation, the file and the errno; `.code` keeps the errno. */
export function fsError(op: string, what: string, err: unknown): Error {
  const code = errno(err) ?? String(err);
  return Object.assign(new Error(`${op} ${what}: ${code}`), { code });
}

export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** Write one value; errors name the control file and errno: "write cpuset.cpus: EINVAL". */
export function cgWrite(file: string, data: string | number): void {
  try {
    writeFileSync(file, String(data));
  } catch (err) {
    throw fsError("write", basename(file), err);
  }
}

/** Append (O_APPEND) — for cgroup.procs: the kernel treats every write as "add this pid", and on
 *  a fake tree the file then accumulates the pids, which tests can observe. */
export function cgAppend(file: string, data: string | number): void {
  try {
    appendFileSync(file, `${data}\n`);
  } catch (err) {
    throw fsError("write", basename(file), err);
  }
}

/** Read a control file; null if it does not exist. */
export function cgRead(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    // ENODEV: the cgroup was removed while we read (a concurrent teardown)
    if (errno(err) === "ENOENT" || errno(err) === "ENODEV") return null;
    throw fsError("read", basename(file), err);
  }
}

/** mkdir one level; true if we created it, false if it already existed. */
export function cgMkdir(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if (errno(err) === "EEXIST") return false;
    throw fsError("mkdir", dir, err);
  }
}

/**
 * Runs a chain of mkdirs again when one failed with ENOENT: the shared `<own>/mydocker` dir is
 * removed by whichever container's teardown finds it empty, which can fall between our mkdirs.
 */
export function retryIfParentVanished(makeDirs: () => void): void {
  for (let attempt = 1; ; attempt++) {
    try {
      return makeDirs();
    } catch (err) {
      if (errno(err) !== "ENOENT" || attempt >= 5) throw err;
    }
  }
}

/** Parse cgroup.procs / tasks: one pid per line. */
export function parsePids(text: string | null): number[] {
  if (!text) return [];
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => Number(l.trim()));
}

/** SIGKILL each pid; ignore processes that are already gone. */
export function killPids(pids: number[]): void {
  for (const pid of pids) {
    if (!(pid > 0) || pid === process.pid) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch (err) {
      if (errno(err) !== "ESRCH") throw fsError("kill", String(pid), err);
    }
  }
}

export function sleepMs(ms: number): void {
  Bun.sleepSync(ms);
}

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * rmdir a cgroup directory. Returns "removed", "gone" (ENOENT) or "busy" (EBUSY: it still has
 * tasks or child cgroups — see cgroups(7) / cgroup-v2.rst "Removing a cgroup"). Other errors throw.
 *
 * Unit tests use fake trees on a normal filesystem whose "control files" are regular files, so
 * rmdir fails with ENOTEMPTY there (cgroupfs never returns that: its files vanish with the dir).
 * Only in that case, and only when the dir is verifiably NOT on cgroupfs, we unlink the regular
 * files (never subdirectories) and retry; a dir that still has subdirs counts as "busy".
 */
export function cgRmdir(dir: string): "removed" | "gone" | "busy" {
  const tryRmdir = (): string | undefined => {
    try {
      rmdirSync(dir);
      return undefined;
    } catch (err) {
      if (!errno(err)) throw err;
      return errno(err);
    }
  };
  let code = tryRmdir();
  if (code === "ENOTEMPTY" && ![CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC].includes(statfsSync(dir).type)) {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) unlinkSync(`${dir}/${e.name}`);
    code = tryRmdir();
  }
  if (code === undefined) return "removed";
  if (code === "ENOENT") return "gone";
  if (code === "EBUSY" || code === "ENOTEMPTY") return "busy";
  throw Object.assign(new Error(`rmdir ${dir}: ${code}`), { code });
}

/**
 * One rmdir(2) of a cgroup, true when it is gone. It succeeds only when nothing runs there (and no
 * child cgroup is left), which is the usual case at a container's end: its init was PID 1 of its
 * own PID namespace, and once that init is reaped every other process of the namespace is gone
 * too (pid_namespaces(7)). Anything else (EBUSY, ENOENT, a fake tree's files) is for removeLeaf.
 */
export function removedAtOnce(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Remove a leaf cgroup dir, killing its tasks, retrying EBUSY for up to ~2s
 *  (a SIGKILLed process stays listed until the kernel finishes tearing it down). */
export function removeLeaf(dir: string, listPids: () => number[]): void {
  const deadline = Date.now() + 2000;
  for (;;) {
    killPids(listPids());
    const r = cgRmdir(dir);
    if (r !== "busy") return;
    if (Date.now() > deadline) throw new Error(`rmdir ${dir}: EBUSY`);
    sleepMs(10);
  }
}
