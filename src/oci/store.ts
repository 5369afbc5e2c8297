// The OCI command line's records, one directory per container under its root (`--root`, default
// /run/mydocker-runc as runc's /run/runc): state.json (what `state` reports, and what later
// commands need: the init's pid and start time, the cgroup), config.json (the config it was
// created from, resolved), and exec.fifo while it is created but not started.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeTree, writeFileAtomic } from "../fsutil";
import { runtimeRoot } from "../paths";
import type { Spec } from "../spec";
import { isAlive } from "../state/proc";
import { OciError } from "../errors";
export { OciError };

export const OCI_VERSION = "1.2.0";
export const DEFAULT_OCI_ROOT = "/run/mydocker-runc";

export interface OciRecord {
  id: string;
  /** the container's init as the host sees it (0 before it exists) */
  pid: number;
  pidStartTime?: number;
  bootId: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** enough to reopen its cgroup */
  cgroup: { parent?: string; id: string; selfCgroup: string };
}

export type OciStatus = "creating" | "created" | "running" | "paused" | "stopped";


/** runc's rule for ids: letters, digits and `_+-.`; never a path. */
export function checkId(id: string | undefined): string {
  if (!id) throw new OciError("container id cannot be empty");
  if (!/^[\w+\-.]+$/.test(id) || id === "." || id === "..") throw new OciError(`invalid container id "${id}": letters, digits and _+-. only`);
  return id;
}

export const recordDir = (id: string) => join(runtimeRoot(), id);
export const fifoPath = (id: string) => join(recordDir(id), "exec.fifo");
export const configCopy = (id: string) => join(recordDir(id), "config.json");
const statePath = (id: string) => join(recordDir(id), "state.json");

/** Makes the container's directory; refuses an id in use (mkdir(2) is the atomic test). */
export function reserve(id: string): void {
  mkdirSync(runtimeRoot(), { recursive: true, mode: 0o711 });
  try {
    mkdirSync(recordDir(id), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new OciError(`container with id exists: ${id}`);
    throw e;
  }
}

/** Runtime state, as runc's under /run/runc: atomic, not fsync'd (see writeFileAtomic's `durable`). */
export function writeRecord(rec: OciRecord, spec?: Spec): void {
  if (spec) writeFileAtomic(configCopy(rec.id), JSON.stringify(spec), 0o600, { durable: false });
  writeFileAtomic(statePath(rec.id), JSON.stringify(rec), 0o600, { durable: false });
}

export function readRecord(id: string): OciRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(statePath(id), "utf8")) as OciRecord;
    return rec && typeof rec.id === "string" && typeof rec.pid === "number" ? rec : undefined;
  } catch {
    return undefined;
  }
}

export function requireRecord(id: string): OciRecord {
  const rec = readRecord(checkId(id));
  if (!rec) throw new OciError(`container does not exist: ${id}`);
  return rec;
}

export function readSpec(id: string): Spec {
  return JSON.parse(readFileSync(configCopy(id), "utf8")) as Spec;
}

export function listIds(): string[] {
  try {
    return readdirSync(runtimeRoot()).filter((d) => existsSync(statePath(d))).sort();
  } catch {
    return [];
  }
}

export function removeRecord(id: string): void {
  removeTree(recordDir(id));
}

export const initAlive = (rec: OciRecord) => isAlive({ pid: rec.pid, startTime: rec.pidStartTime, bootId: rec.bootId });

/** What the runtime-spec calls the status: from the init's liveness, the FIFO and the freezer. */
export function statusOf(rec: OciRecord, frozen: () => boolean): OciStatus {
  if (!initAlive(rec)) return rec.pid === 0 ? "creating" : "stopped";
  if (existsSync(fifoPath(rec.id))) return "created";
  return frozen() ? "paused" : "running";
}

/** The state JSON of the runtime-spec (runtime.md "State"), with runc's extra fields. */
export function stateJson(rec: OciRecord, status: OciStatus): object {
  return {
    ociVersion: OCI_VERSION,
    id: rec.id,
    status,
    pid: status === "stopped" || status === "creating" ? 0 : rec.pid,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    ...(rec.annotations ? { annotations: rec.annotations } : {}),
  };
}
