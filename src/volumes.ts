// Volumes: `-v HOST:CONTAINER[:ro]` bind mounts, `-v NAME:CONTAINER[:ro]` named volumes kept under
// the data root (`<data-root>/volumes/NAME/_data`), and `--tmpfs PATH[:OPTIONS]`. Each becomes an
// OCI mount in the container's config; the init mounts them.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { UsageError } from "./cli/argv";
import { dataRoot } from "./paths";
import { removeTree } from "./fsutil";
import type { Mount } from "./spec";

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface VolumeSpec {
  kind: "bind" | "volume";
  /** host path (bind) or volume name */
  source: string;
  destination: string;
  readonly: boolean;
}

/** `SRC:DST[:ro|rw]` as docker reads it; one-line errors for what it refuses. */
export function parseVolumeSpec(text: string): VolumeSpec {
  const parts = text.split(":");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new UsageError(`invalid volume "${text}": expected HOST_PATH:CONTAINER_PATH[:ro] or NAME:CONTAINER_PATH[:ro]`);
  }
  const [source, destination, mode = "rw"] = parts as [string, string, string?];
  if (mode !== "ro" && mode !== "rw") throw new UsageError(`invalid volume "${text}": mode must be ro or rw, not "${mode}"`);
  if (!isAbsolute(destination)) throw new UsageError(`invalid volume "${text}": the container path must be absolute`);
  if (normalize(destination) === "/") throw new UsageError(`invalid volume "${text}": cannot mount a volume on /`);
  const kind = isAbsolute(source) ? "bind" : "volume";
  if (kind === "volume" && !VOLUME_NAME.test(source)) {
    throw new UsageError(`invalid volume "${text}": the host path must be absolute (a volume name is [a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
  }
  return { kind, source: kind === "bind" ? normalize(source) : source, destination: normalize(destination), readonly: mode === "ro" };
}

/** tmpfs(5) mount options that take a value (docker's list, and huge=). */
const TMPFS_DATA = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "huge", "mpol"];
/** mount(8) flags that make sense on a tmpfs: [flag, the flag it cancels]. Nothing that binds, remounts or changes propagation. */
const TMPFS_FLAGS: Record<string, string> = {
  ro: "rw", rw: "ro", nosuid: "suid", suid: "nosuid", nodev: "dev", dev: "nodev", noexec: "exec", exec: "noexec",
  noatime: "atime", atime: "noatime", nodiratime: "diratime", diratime: "nodiratime",
  relatime: "norelatime", norelatime: "relatime", strictatime: "nostrictatime", nostrictatime: "strictatime",
};
/** Flags that only cancel another: the init's table does not know them, so they are resolved here. */
const CANCEL_ONLY = new Set(["atime", "diratime", "norelatime", "nostrictatime"]);

/** `--tmpfs /path[:size=64m,mode=1777]` -> a tmpfs mount (nosuid, nodev as docker does). */
export function parseTmpfsSpec(text: string): Mount {
  const colon = text.indexOf(":");
  const destination = colon < 0 ? text : text.slice(0, colon);
  const extra = colon < 0 ? [] : text.slice(colon + 1).split(",").filter(Boolean);
  if (!isAbsolute(destination)) throw new UsageError(`invalid --tmpfs "${text}": the container path must be absolute`);
  if (normalize(destination) === "/") throw new UsageError(`invalid --tmpfs "${text}": cannot mount on /`);
  const options = ["nosuid", "nodev"];
  for (const o of extra) {
    const eq = o.indexOf("=");
    if (eq >= 0) {
      if (!TMPFS_DATA.includes(o.slice(0, eq)) || eq === o.length - 1) {
        throw new UsageError(`invalid --tmpfs "${text}": "${o}" is not a tmpfs option (${TMPFS_DATA.join("=, ")}=, or a flag such as ro, noexec)`);
      }
      options.push(o);
      continue;
    }
    const cancels = TMPFS_FLAGS[o];
    if (cancels === undefined) {
      throw new UsageError(`invalid --tmpfs "${text}": "${o}" is not a tmpfs option (${TMPFS_DATA.join("=, ")}=, or a flag such as ro, noexec)`);
    }
    // the later of two opposite flags wins
    for (let i = options.length - 1; i >= 0; i--) if (options[i] === cancels || options[i] === o) options.splice(i, 1);
    if (!CANCEL_ONLY.has(o)) options.push(o);
  }
  return { destination: normalize(destination), type: "tmpfs", source: "tmpfs", options };
}

/** The OCI mount for a volume spec. Creates nothing (see createVolumeSources). */
export function volumeMount(v: VolumeSpec): Mount {
  const source = v.kind === "bind" ? v.source : join(volumeDir(v.source), "_data");
  return { destination: v.destination, type: "bind", source, options: ["rbind", v.readonly ? "ro" : "rw"] };
}

/** Once the container exists: a missing host directory is created (as docker does), a named volume on first use. */
export function createVolumeSources(volumes: VolumeSpec[]): void {
  for (const v of volumes) {
    if (v.kind === "volume") createVolume(v.source);
    else if (!existsSync(v.source)) mkdirSync(v.source, { recursive: true, mode: 0o755 });
  }
}

// ---------------------------------------------------------------- named volumes

export interface Volume {
  name: string;
  /** where its data is */
  path: string;
  created: string;
}

const volumesDir = () => join(dataRoot(), "volumes");
const volumeDir = (name: string) => join(volumesDir(), name);

export function inspectVolume(name: string): Volume | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(volumeDir(name), "volume.json"), "utf8")) as { created: string };
    return { name, path: join(volumeDir(name), "_data"), created: meta.created };
  } catch {
    return undefined;
  }
}

/** Creates the volume if it does not exist yet; returns it either way. */
export function createVolume(name: string): Volume {
  if (!VOLUME_NAME.test(name)) throw new UsageError(`invalid volume name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const existing = inspectVolume(name);
  if (existing) return existing;
  mkdirSync(join(volumeDir(name), "_data"), { recursive: true, mode: 0o755 });
  writeFileSync(join(volumeDir(name), "volume.json"), JSON.stringify({ created: new Date().toISOString() }));
  return inspectVolume(name)!;
}

export function listVolumes(): Volume[] {
  if (!existsSync(volumesDir())) return [];
  return readdirSync(volumesDir())
    .map(inspectVolume)
    .filter((v): v is Volume => v !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes a volume and its data; refuses while `users` (containers whose config mounts it) exist. */
export function removeVolume(name: string, users: string[]): void {
  const v = inspectVolume(name);
  if (!v) throw new UsageError(`No such volume: ${name}`);
  if (users.length) throw new UsageError(`volume ${name} is in use by container ${users.map((u) => u.slice(0, 12)).join(", ")}`);
  if (!statSync(volumeDir(name)).isDirectory()) throw new UsageError(`volume ${name}: not a directory`);
  removeTree(volumeDir(name));
}
