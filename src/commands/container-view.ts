// What the listing and inspect commands read of a container beyond its state record: its labels,
// its mounts, its writable layer's size, all from the OCI config and the data root.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { containerLayerDir } from "../image/overlay";
import { dataRoot, runtimeRoot } from "../paths";
import type { Mount, Spec } from "../spec";
import { readConfig, type ContainerState } from "../state/store";

/** The config it runs, or undefined for a record whose config is unreadable (a dead one). */
export function configOrUndefined(s: ContainerState): Spec | undefined {
  try {
    return readConfig(s.id);
  } catch {
    return undefined;
  }
}

/** Its labels (`run -l`): kept in the state record, else in the config's annotations. */
export function labelsOf(s: ContainerState, spec = configOrUndefined(s)): Record<string, string> {
  const own = (s as unknown as { labels?: Record<string, string> }).labels;
  if (own && typeof own === "object") return { ...own };
  const annotations = (spec as unknown as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
  return Object.fromEntries(Object.entries(annotations).filter(([k]) => !k.startsWith("org.opencontainers.")));
}

const DEFAULT_DESTINATIONS = new Set(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);
/** --init's tini (docker hides it too) */
const HIDDEN_BINDS = new Set(["/sbin/docker-init"]);

export interface UserMount {
  Type: "volume" | "bind" | "tmpfs";
  Name?: string;
  Source: string;
  Destination: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  Driver?: string;
}

/** The mounts the user asked for (-v, --tmpfs), in docker's inspect shape. */
export function userMounts(spec: Spec | undefined): UserMount[] {
  const volumes = join(dataRoot(), "volumes") + "/";
  const ownFiles = runtimeRoot() + "/"; // /etc/hosts, hostname, resolv.conf: the container's own, not the user's
  return (spec?.mounts ?? [])
    .filter((m: Mount) => !DEFAULT_DESTINATIONS.has(m.destination) || m.type === "bind")
    .filter((m: Mount) => !(m.type === "bind" && m.destination.startsWith("/etc/") && (m.source ?? "").startsWith(ownFiles)))
    .filter((m: Mount) => !HIDDEN_BINDS.has(m.destination))
    .map((m: Mount): UserMount => {
      const source = m.source ?? "";
      const rw = !(m.options ?? []).includes("ro");
      const propagation = (m.options ?? []).find((o) => /^r?(shared|slave|private)$/.test(o)) ?? (m.type === "bind" ? "rprivate" : "");
      if (m.type === "tmpfs") return { Type: "tmpfs" as const, Source: "", Destination: m.destination, Mode: "", RW: rw, Propagation: "" };
      if (source.startsWith(volumes) && source.endsWith("/_data")) {
        const name = source.slice(volumes.length, -"/_data".length);
        return { Type: "volume" as const, Name: name, Source: source, Destination: m.destination, Driver: "local", Mode: "z", RW: rw, Propagation: "" };
      }
      return { Type: "bind" as const, Source: source, Destination: m.destination, Mode: "", RW: rw, Propagation: propagation };
    });
}

/** Bytes of the files under `dir` (lstat: symlinks are not followed), as `du --apparent-size`. */
export function diskUsage(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else
        try {
          total += lstatSync(p).size;
        } catch {
          // removed while we looked
        }
    }
  };
  walk(dir);
  return total;
}

/** Its writable layer (docker's SizeRw): the overlay's upper dir, 0 on a plain rootfs. */
export function writableLayerSize(s: ContainerState): number {
  const upper = join(containerLayerDir(s.id), "upper");
  return existsSync(upper) ? diskUsage(upper) : 0;
}
