// Container state on disk: one directory per container under the runtime root (/run/mydocker),
// holding config.json (the OCI config it runs), state.json, and container.log for detached ones.
// Every write is atomic (a temp file renamed over the old one), and every read-modify-write, as
// well as name reservation, happens under one flock(2) on `<root>/.lock`.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOCK_EX, flock } from "../../ffi/lock";
import { runtimeRoot } from "../paths";
import type { Spec } from "../spec";
import { generateName, validateName } from "./names";

export type Status = "created" | "running" | "paused" | "exited";

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
}

export class NoSuchContainer extends Error {
  constructor(ref: string) {
    super(`No such container: ${ref}`);
  }
}

export class StateError extends Error {}

export const containerDir = (id: string) => join(runtimeRoot(), id);
export const statePath = (id: string) => join(containerDir(id), "state.json");
export const configPath = (id: string) => join(containerDir(id), "config.json");
export const logPath = (id: string) => join(containerDir(id), "container.log");

/** Runs `fn` holding the store's exclusive lock. */
export function withLock<T>(fn: () => T): T {
  mkdirSync(runtimeRoot(), { recursive: true, mode: 0o711 });
  const fd = openSync(join(runtimeRoot(), ".lock"), "a");
  try {
    flock(fd, LOCK_EX);
    return fn();
  } finally {
    closeSync(fd); // releases the lock
  }
}

/**
 * Runs `fn` holding the container's own lock (teardown, removal): two commands that find the
 * same dead container do its cleanup one after the other, and the second finds it done. Not
 * nested in withLock, and withLock may be taken inside it.
 */
export function withContainerLock<T>(id: string, fn: () => T): T {
  let fd: number;
  try {
    fd = openSync(join(containerDir(id), ".lock"), "a");
  } catch {
    return fn(); // the container's directory is gone: nothing left to serialise
  }
  try {
    flock(fd, LOCK_EX);
    return fn();
  } finally {
    closeSync(fd);
  }
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

export function readState(id: string): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(id), "utf8")) as ContainerState;
  } catch {
    return undefined;
  }
}

export function readConfig(id: string): Spec {
  return JSON.parse(readFileSync(configPath(id), "utf8")) as Spec;
}

/** Every container, newest first. */
export function listStates(): ContainerState[] {
  if (!existsSync(runtimeRoot())) return [];
  const states: ContainerState[] = [];
  for (const entry of readdirSync(runtimeRoot())) {
    if (!/^[0-9a-f]{64}$/.test(entry)) continue;
    const s = readState(entry);
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
    mkdirSync(containerDir(full.id), { mode: 0o700 });
    writeAtomic(configPath(full.id), JSON.stringify(spec, null, 2));
    writeAtomic(statePath(full.id), JSON.stringify(full, null, 2));
    return full;
  });
}

/** Read-modify-write of state.json under the lock. Returns the new state, or undefined if it is gone. */
export function updateState(id: string, change: (s: ContainerState) => Partial<ContainerState>): ContainerState | undefined {
  return withLock(() => {
    const current = readState(id);
    if (!current) return undefined;
    const next = { ...current, ...change(current) };
    writeAtomic(statePath(id), JSON.stringify(next, null, 2));
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
  withLock(() => rmSync(containerDir(id), { recursive: true, force: true }));
}
