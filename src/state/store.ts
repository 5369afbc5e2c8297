// Container state on disk: one directory per container under the runtime root (/run/mydocker),
// holding config.json (the OCI config it runs), state.json, and container.log for detached ones.
// Every write is atomic (a temp file renamed over the old one), and every read-modify-write, as
// well as name reservation, happens under one flock(2) on `<root>/.lock`.
//
// What is read is checked, never trusted: a state.json that is not a regular file (a symlink is
// never followed), not JSON, or lacks a field the code uses makes its container "dead" (shown by
// `ps -a` with the reason, removable with `rm -f`, its name still taken) rather than invisible or
// fatal to every command.
import { closeSync, constants as C, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isLockHeld, removeTree, withFileLock, writeFileAtomic } from "../fsutil";
import { runtimeRoot } from "../paths";
import type { Spec } from "../spec";
import { generateName, validateName } from "./names";
import { NoSuchContainer, StateError } from "../errors";
export { NoSuchContainer, StateError };

/** "dead": the record on disk is unreadable or incomplete (the reason is in `error`). Never written. */
export type Status = "created" | "running" | "paused" | "exited" | "dead";

export interface ContainerState {
  id: string;
  name: string;
  status: Status;
  /** the container's init (PID 1 inside), trusted only together with its start time */
  pid?: number;
  pidStartTime?: number;
  /** the process that waits for the container: `mydocker monitor` (detached) or `mydocker run` */
  monitorPid?: number;
  monitorStartTime?: number;
  /** null when nobody could collect it (the monitor had died) */
  exitCode?: number | null;
  oomKilled: boolean;
  error?: string;
  created: string;
  started?: string;
  finished?: string;
  command: string[];
  /** what the user named: an image reference or the rootfs path */
  image: string;
  /** image id when the container runs on an image */
  imageId?: string;
  /** the plain root under the container's own writable layer (the default rootfs, kept pristine) */
  lowerDir?: string;
  rootfs: string;
  detached: boolean;
  autoRemove: boolean;
  /** enough to reopen the container's cgroup from another process */
  cgroup: { parent?: string; selfCgroup: string };
  bootId: string;
  /** what its network should be (the run flags) and, while it runs, what it got */
  network?: import("../network/attach").ContainerNetwork;
  /** run/create flags that later commands read (inspect, ps, stop): its labels (the image's, then -l) */
  labels?: Record<string, string>;
  /** --entrypoint as given ([] for `--entrypoint ""`); absent: the image's */
  entrypoint?: string[];
  /** what `stop` sends (--stop-signal, else the image's StopSignal) and how long it waits (--stop-timeout) */
  stopSignal?: string;
  stopTimeout?: number;
  /** --init: tini is PID 1 (spec.process.args starts with it; `command` does not) */
  init?: boolean;
  /** --restart and how often the monitor restarted it; between two runs `restarting` (src/containers/restart.ts) */
  restartPolicy?: { name: "no" | "always" | "unless-stopped" | "on-failure"; maximumRetryCount: number };
  restartCount?: number;
  restarting?: boolean;
  /** `stop`/`kill` ended it: its restart policy does not bring it back */
  stoppedByUser?: boolean;
  /** --log-opt max-size/max-file: container.log rotated (src/containers/logs.ts) */
  logRotation?: { maxSize: number; maxFile: number };
  /** --log-opt as given (inspect's HostConfig.LogConfig.Config) */
  logOptions?: Record<string, string>;
  /** -i: its stdin is a pipe its monitor keeps, for `attach` */
  openStdin?: boolean;
}


export const containerDir = (id: string) => join(runtimeRoot(), id);
export const statePath = (id: string) => join(containerDir(id), "state.json");
export const configPath = (id: string) => join(containerDir(id), "config.json");
export const logPath = (id: string) => join(containerDir(id), "container.log");

/** Runs `fn` holding the store's exclusive lock (re-entrant within this process). */
export function withLock<T>(fn: () => T): T {
  mkdirSync(runtimeRoot(), { recursive: true, mode: 0o711 });
  return withFileLock(join(runtimeRoot(), ".lock"), fn);
}

const lockHeld = () => isLockHeld(join(runtimeRoot(), ".lock"));

/**
 * Runs `fn` holding the container's own lock (teardown, removal): two commands that find the
 * same dead container do its cleanup one after the other, and the second finds it done. Not
 * nested in withLock, and withLock may be taken inside it.
 */
export function withContainerLock<T>(id: string, fn: () => T): T {
  try {
    if (!lstatSync(containerDir(id)).isDirectory()) return fn(); // never through a symlink
  } catch {
    return fn(); // the container's directory is gone: nothing left to serialise
  }
  return withFileLock(join(containerDir(id), ".lock"), fn);
}

/** Runtime state: atomic but not fsync'd (see writeFileAtomic's `durable`). */
const RUNTIME_STATE = { durable: false };

function writeAtomic(path: string, data: string, useReserve = false): void {
  try {
    writeFileAtomic(path, data, 0o600, RUNTIME_STATE);
  } catch (e) {
    if (!useReserve) throw e;
    // A full disk: give back the container's reserve (made at its start) and write again, so
    // that its exit is recorded whatever filled the disk meanwhile.
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC" || !releaseReserve(join(path, ".."))) throw e;
    writeFileAtomic(path, data, 0o600, RUNTIME_STATE);
  }
}

/** Space set aside per container when it is created: a few rewrites of its state.json. */
const RESERVE_BYTES = 8 * 1024;
const reservePath = (dir: string) => join(dir, ".reserve");

function releaseReserve(dir: string): boolean {
  try {
    rmSync(reservePath(dir));
    return true;
  } catch {
    return false;
  }
}

const MAX_RECORD = 4 << 20;

/**
 * A record file's text. open(2) with O_NOFOLLOW fails with ELOOP on a symlink; O_NONBLOCK keeps a
 * FIFO planted there from blocking the open. Throws a one-line reason.
 */
function readRecordFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ELOOP" ? "is a symlink" : code === "ENOENT" ? "is missing" : `cannot be read (${code})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error("is not a regular file");
    if (st.size > MAX_RECORD) throw new Error(`is too large (${st.size} bytes)`);
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

const STATUSES = ["created", "running", "paused", "exited"];
type Check = (v: unknown) => boolean;
const isString: Check = (v) => typeof v === "string";
const isNumber: Check = (v) => typeof v === "number" && Number.isFinite(v);
const isBoolean: Check = (v) => typeof v === "boolean";
const optional = (c: Check): Check => (v) => v === undefined || c(v);

/** The fields of state.json that the code reads, and what each must be. */
const SCHEMA: [field: keyof ContainerState, check: Check, what: string][] = [
  ["name", isString, "a string"],
  ["status", (v) => STATUSES.includes(v as string), `one of ${STATUSES.join(", ")}`],
  ["created", (v) => isString(v) && !Number.isNaN(Date.parse(v as string)), "a date"],
  ["command", (v) => Array.isArray(v) && v.every(isString), "a list of strings"],
  ["image", isString, "a string"],
  ["rootfs", isString, "a string"],
  ["detached", isBoolean, "true or false"],
  ["autoRemove", isBoolean, "true or false"],
  ["oomKilled", isBoolean, "true or false"],
  ["bootId", isString, "a string"],
  ["cgroup", (v) => typeof v === "object" && v !== null && isString((v as any).selfCgroup) && optional(isString)((v as any).parent), "{ selfCgroup, parent? }"],
  ["pid", optional(isNumber), "a number"],
  ["pidStartTime", optional(isNumber), "a number"],
  ["monitorPid", optional(isNumber), "a number"],
  ["monitorStartTime", optional(isNumber), "a number"],
  ["exitCode", (v) => v === undefined || v === null || isNumber(v), "a number or null"],
  ["error", optional(isString), "a string"],
  ["started", optional(isString), "a string"],
  ["finished", optional(isString), "a string"],
  ["imageId", optional(isString), "a string"],
  ["lowerDir", optional(isString), "a string"],
];

/** Why a parsed state.json cannot be used, or undefined when it can. */
export function stateProblem(raw: unknown, id: string): string | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "state.json is not a JSON object";
  const r = raw as Record<string, unknown>;
  if (r.id !== id) return `state.json names another container id (${JSON.stringify(r.id)})`;
  for (const [field, check, what] of SCHEMA) {
    if (!check(r[field])) return `state.json: "${field}" is ${r[field] === undefined ? "missing" : `not ${what}`}`;
  }
}

type Reading = { state: ContainerState } | { problem: string; raw?: unknown } | undefined;

function readOnce(id: string): Reading {
  const dir = containerDir(id);
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return { problem: `the container's directory ${dir} is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}` };
  } catch {
    return undefined; // removed
  }
  let text: string;
  try {
    text = readRecordFile(statePath(id));
  } catch (e) {
    if (!existsSync(dir)) return undefined; // removed meanwhile
    return { problem: `state.json ${(e as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: text.length === 0 ? "state.json is empty" : "state.json is not valid JSON" };
  }
  const problem = stateProblem(raw, id);
  return problem ? { problem, raw } : { state: raw as ContainerState };
}

/**
 * The container's record: its state, a "dead" state (with the reason in `error`) when the record
 * is broken, or undefined when there is no such container. A broken one is read again under the
 * store lock: creation and removal (under that lock) pass through states that look broken.
 */
export function readRecord(id: string): ContainerState | undefined {
  let r = readOnce(id);
  if (r && "problem" in r && !lockHeld()) r = withLock(() => readOnce(id));
  if (!r) return undefined;
  return "state" in r ? r.state : deadState(id, r.problem, r.raw);
}

/** What can be salvaged of a broken record: the name (it stays taken), the cgroup, the image. */
function deadState(id: string, problem: string, raw: unknown): ContainerState {
  const r = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  const pick = <T>(field: keyof ContainerState, fallback: T): T => {
    const entry = SCHEMA.find(([f]) => f === field);
    return r[field] !== undefined && entry?.[1](r[field]) ? (r[field] as T) : fallback;
  };
  let made = "";
  try {
    const st = lstatSync(containerDir(id));
    made = (st.birthtimeMs > 0 ? st.birthtime : st.mtime).toISOString(); // statx(2) btime, where the fs keeps it
  } catch {}
  return {
    id,
    name: pick("name", ""),
    status: "dead",
    error: problem,
    oomKilled: false,
    created: pick("created", made),
    command: pick("command", []),
    image: pick("image", ""),
    imageId: pick("imageId", undefined),
    lowerDir: pick("lowerDir", undefined),
    rootfs: pick("rootfs", ""),
    detached: pick("detached", false),
    autoRemove: false,
    cgroup: pick("cgroup", { selfCgroup: "" }),
    bootId: "",
  };
}

/** The container's state when its record is sound; undefined when it is gone or broken ("dead"). */
export function readState(id: string): ContainerState | undefined {
  const s = readRecord(id);
  return s && s.status !== "dead" ? s : undefined;
}

export function readConfig(id: string): Spec {
  return JSON.parse(readRecordFile(configPath(id))) as Spec;
}

/** Every container, newest first; broken records as "dead" ones. */
export function listStates(): ContainerState[] {
  if (!existsSync(runtimeRoot())) return [];
  const states: ContainerState[] = [];
  for (const entry of readdirSync(runtimeRoot())) {
    if (!/^[0-9a-f]{64}$/.test(entry)) continue;
    const s = readRecord(entry);
    if (s) states.push(s);
  }
  return states.sort((a, b) => b.created.localeCompare(a.created));
}

/** A container by name, full id or unique id prefix (docker's rules). */
export function findContainer(ref: string): ContainerState {
  const all = listStates();
  const hit = all.find((s) => s.id === ref) ?? all.find((s) => s.name === ref);
  if (hit) return hit;
  const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((s) => s.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new StateError(`multiple containers match the id prefix "${ref}": be more specific`);
  throw new NoSuchContainer(ref);
}

/**
 * Reserves the name and writes the new container's directory, config.json and state.json
 * (status "created"). Two concurrent `run --name x`: exactly one gets the name.
 */
export function createContainerRecord(state: Omit<ContainerState, "name"> & { name?: string }, spec: Spec): ContainerState {
  return withLock(() => {
    const all = listStates();
    const taken = (n: string) => all.some((s) => s.name === n);
    let name = state.name;
    if (name !== undefined) {
      const invalid = validateName(name);
      if (invalid) throw new StateError(invalid);
      const owner = all.find((s) => s.name === name);
      if (owner) throw new StateError(`the container name "${name}" is already in use by container ${owner.id.slice(0, 12)}`);
    } else {
      name = generateName(taken);
    }
    const full: ContainerState = { ...state, name };
    sweepUnfinished();
    // Written in a directory of its own, then renamed into place (rename(2) is atomic): a
    // start killed half-way leaves a `.new-<id>-<pid>` directory the next start sweeps, never a
    // container directory without its record. A full disk fails here, before anything runs.
    const staging = join(runtimeRoot(), `.new-${full.id}-${process.pid}`);
    try {
      mkdirSync(staging, { mode: 0o700 });
      // (written in place: nobody sees the staging directory before its rename)
      writeFileSync(join(staging, "config.json"), JSON.stringify(spec), { mode: 0o600, flag: "wx" }); // compact: the seccomp profile is large
      writeFileSync(join(staging, "state.json"), JSON.stringify(full, null, 2), { mode: 0o600, flag: "wx" });
      writeFileSync(reservePath(staging), Buffer.alloc(RESERVE_BYTES), { mode: 0o600, flag: "wx" });
      renameSync(staging, containerDir(full.id));
    } catch (e) {
      removeTree(staging);
      const code = (e as NodeJS.ErrnoException).code;
      throw new StateError(`cannot record the container in ${runtimeRoot()}: ${code ?? (e as Error).message}`);
    }
    return full;
  });
}

/** Staging directories of starts whose process is gone (killed before the rename). */
function sweepUnfinished(): void {
  for (const entry of readdirSync(runtimeRoot())) {
    const m = /^\.new-[0-9a-f]{64}-(\d+)$/.exec(entry);
    if (m && !existsSync(`/proc/${m[1]}`)) removeTree(join(runtimeRoot(), entry));
  }
}

/**
 * Read-modify-write of state.json under the lock. Returns the new state, or undefined if it is
 * gone. `final`: the record of how the container ended, which may use the space its start set
 * aside (a full disk never loses an exit status); any other write on a full disk fails.
 */
export function updateState(id: string, change: (s: ContainerState) => Partial<ContainerState>, final = false): ContainerState | undefined {
  return withLock(() => {
    const current = readState(id);
    if (!current) return undefined;
    const next = { ...current, ...change(current) };
    writeAtomic(statePath(id), JSON.stringify(next, null, 2), final);
    return next;
  });
}

export function renameContainer(id: string, newName: string): void {
  withLock(() => {
    const invalid = validateName(newName);
    if (invalid) throw new StateError(invalid);
    const owner = listStates().find((s) => s.name === newName);
    if (owner && owner.id !== id) throw new StateError(`the container name "${newName}" is already in use by container ${owner.id.slice(0, 12)}`);
    const current = readState(id);
    if (!current) throw new NoSuchContainer(id);
    writeAtomic(statePath(id), JSON.stringify({ ...current, name: newName }, null, 2));
  });
}

/** Removes the container's directory (state, config, logs). */
export function removeContainerRecord(id: string): void {
  withLock(() => removeTree(containerDir(id)));
}
