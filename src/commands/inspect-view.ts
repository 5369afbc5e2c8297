// What `inspect` prints, in docker's shapes (the fields scripts read), for containers, images and
// volumes. A container's OCI config stays available under "OCIConfig".
import { networkMode, networkSettings } from "../network/view";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { containerLayerDir } from "../image/overlay";
import { imageConfigBytes, resolveImage, type ImageRecord } from "../image/store";
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES } from "../security/capabilities";
import type { Spec } from "../spec";
import { logPath, type ContainerState } from "../state/store";
import type { Volume } from "../volumes";
import { ZERO_TIME } from "../format";
import { goMap } from "../format/template";
import { configOrUndefined, labelsOf, userMounts } from "./container-view";

const isUp = (s: ContainerState) => s.status === "running" || s.status === "paused";

/** Entrypoint and Cmd: the image's entrypoint when the command starts with it, as docker splits them. */
function entrypointAndCmd(s: ContainerState, image: ImageRecord | undefined): { Entrypoint: string[] | null; Cmd: string[] } {
  const own = (s as unknown as { entrypoint?: string[] }).entrypoint;
  const ep = own ?? image?.config.Entrypoint ?? [];
  if (ep.length && ep.every((a, i) => s.command[i] === a)) return { Entrypoint: ep, Cmd: s.command.slice(ep.length) };
  return { Entrypoint: null, Cmd: s.command };
}

function userOf(s: ContainerState, spec: Spec | undefined): string {
  const own = (s as unknown as { user?: string }).user;
  if (typeof own === "string") return own;
  const u = spec?.process.user;
  return !u || (u.uid === 0 && u.gid === 0) ? "" : `${u.uid}:${u.gid}`;
}

/** CapAdd/CapDrop: the difference between its bounding set and docker's default set, without "CAP_". */
function capDiff(spec: Spec | undefined): { CapAdd: string[] | null; CapDrop: string[] | null; all: boolean } {
  const bounding = spec?.process.capabilities?.bounding;
  if (!bounding) return { CapAdd: null, CapDrop: null, all: false };
  const strip = (c: string) => c.replace(/^CAP_/, "");
  const defaults = new Set<string>(DEFAULT_CAPABILITIES);
  const add = bounding.filter((c) => !defaults.has(c)).map(strip);
  const drop = [...defaults].filter((c) => !bounding.includes(c)).map(strip);
  return { CapAdd: add.length ? add : null, CapDrop: drop.length ? drop : null, all: CAPABILITY_NAMES.every((c) => bounding.includes(c)) };
}

/** docker's JSON (Go's encoder) writes a map's keys sorted. */
const sortedKeys = (m: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** A Go slice left nil when nothing was given is `null` in docker's JSON. */
const nullIfEmpty = <T>(a: T[]): T[] | null => (a.length ? a : null);

/** docker's RFC 3339 times; a time that never was is Go's zero time. */
const time = (iso: string | undefined) => (iso ? new Date(iso).toISOString() : ZERO_TIME);

export function containerInspect(s: ContainerState): Record<string, unknown> {
  const spec = configOrUndefined(s);
  const image = s.imageId ? resolveImage(s.imageId) : undefined;
  const res = spec?.linux.resources;
  const caps = capDiff(spec);
  const mounts = userMounts(spec);
  const restart = (s as unknown as { restartPolicy?: { name?: string; maximumRetryCount?: number; Name?: string; MaximumRetryCount?: number } }).restartPolicy;
  const layer = containerLayerDir(s.id);
  const restarting = s.restarting === true && s.status === "exited";
  return {
    Id: s.id,
    Created: time(s.created),
    Path: s.command[0] ?? "",
    Args: s.command.slice(1),
    State: {
      Status: restarting ? "restarting" : s.status,
      // docker's SetRestarting: Running stays true between two runs (Pid 0, the last exit code)
      Running: isUp(s) || restarting,
      Paused: s.status === "paused",
      Restarting: restarting,
      OOMKilled: s.oomKilled,
      Dead: s.status === "dead",
      Pid: isUp(s) ? (s.pid ?? 0) : 0,
      ExitCode: isUp(s) || s.status === "created" ? 0 : (s.exitCode ?? -1),
      Error: s.error ?? "",
      StartedAt: time(s.started),
      FinishedAt: isUp(s) ? ZERO_TIME : time(s.finished),
    },
    Image: s.imageId ?? s.image,
    LogPath: existsSync(logPath(s.id)) ? logPath(s.id) : "",
    Name: `/${s.name}`,
    RestartCount: (s as unknown as { restartCount?: number }).restartCount ?? 0,
    Driver: "overlay",
    Platform: "linux",
    Rootfs: s.rootfs,
    HostConfig: {
      Binds: nullIfEmpty(mounts.filter((m) => m.Type !== "tmpfs").map((m) => `${m.Name ?? m.Source}:${m.Destination}${m.RW ? "" : ":ro"}`)),
      LogConfig: { Type: "json-file", Config: goMap(sortedKeys(s.logOptions ?? {})) },
      AutoRemove: s.autoRemove,
      CgroupParent: s.cgroup.parent ?? "",
      Memory: res?.memory?.limit ?? 0,
      NanoCpus: res?.cpu?.quota && res.cpu.quota > 0 ? Math.round((res.cpu.quota / (res.cpu.period || 100000)) * 1e9) : 0,
      CpuShares: res?.cpu?.shares ?? 0,
      CpusetCpus: res?.cpu?.cpus ?? "",
      CpusetMems: res?.cpu?.mems ?? "",
      PidsLimit: res?.pids?.limit ?? null,
      RestartPolicy: { Name: restart?.Name ?? restart?.name ?? "no", MaximumRetryCount: restart?.MaximumRetryCount ?? restart?.maximumRetryCount ?? 0 },
      ReadonlyRootfs: spec?.root.readonly === true,
      CapAdd: caps.CapAdd,
      CapDrop: caps.CapDrop,
      Privileged: (s as unknown as { privileged?: boolean }).privileged ?? caps.all,
      SecurityOpt: spec?.process.noNewPrivileges ? ["no-new-privileges"] : null,
      Tmpfs: Object.fromEntries(mounts.filter((m) => m.Type === "tmpfs").map((m) => [m.Destination, ""])),
      NetworkMode: networkMode(s),
      PortBindings: portBindings(s),
      Dns: s.network?.request.dns ?? [],
      DnsSearch: s.network?.request.dnsSearch ?? [],
      ExtraHosts: s.network?.request.addHosts.length ? s.network.request.addHosts : null,
    },
    GraphDriver: { Name: "overlay", Data: { UpperDir: join(layer, "upper"), WorkDir: join(layer, "work"), MergedDir: join(layer, "merged") } },
    Mounts: mounts,
    Config: {
      Hostname: spec?.hostname ?? "",
      Domainname: spec?.domainname ?? "",
      User: userOf(s, spec),
      Tty: spec?.process.terminal === true,
      Env: spec?.process.env ?? [],
      ...entrypointAndCmd(s, image),
      Image: s.image,
      WorkingDir: spec?.process.cwd ?? "",
      Labels: goMap(sortedKeys(labelsOf(s, spec))),
      StopSignal: s.stopSignal ?? "SIGTERM",
      ...(s.stopTimeout !== undefined ? { StopTimeout: s.stopTimeout } : {}), // docker omits it when not set
    },
    NetworkSettings: networkSettings(s),
    OCIConfig: spec ?? null,
  };
}

/** docker's image inspect: Id, RepoTags, Created, Config, RootFS, Size... from the stored config. */
export function imageInspect(image: ImageRecord): Record<string, unknown> {
  let oci: { architecture?: string; os?: string; author?: string; config?: Record<string, unknown>; history?: unknown[] } = {};
  try {
    oci = JSON.parse(imageConfigBytes(image.id).toString("utf8"));
  } catch {
    // the record's own fields below still describe it
  }
  const cfg = (oci.config ?? {}) as Record<string, unknown>;
  return {
    Id: image.id,
    RepoTags: image.repoTags,
    RepoDigests: [],
    Parent: "",
    Comment: "",
    Created: image.created,
    Author: oci.author ?? "",
    Config: {
      User: cfg.User ?? "",
      Env: cfg.Env ?? null,
      Cmd: cfg.Cmd ?? null,
      Entrypoint: cfg.Entrypoint ?? null,
      WorkingDir: cfg.WorkingDir ?? "",
      Labels: cfg.Labels ? goMap({ ...(cfg.Labels as object) }) : null,
      ExposedPorts: cfg.ExposedPorts ?? null,
      Volumes: cfg.Volumes ?? null,
      StopSignal: cfg.StopSignal ?? "",
    },
    Architecture: oci.architecture ?? "",
    Os: oci.os ?? "",
    Size: image.size,
    GraphDriver: { Name: "overlay", Data: null },
    RootFS: { Type: "layers", Layers: image.layers },
    Metadata: { LastTagTime: ZERO_TIME },
  };
}

/** docker's volume inspect. */
export function volumeInspect(v: Volume): Record<string, unknown> {
  return { CreatedAt: v.created, Driver: "local", Labels: null, Mountpoint: v.path, Name: v.name, Options: null, Scope: "local" };
}

/** HostConfig.PortBindings: what -p asked for ("" host port: any free one). */
function portBindings(s: ContainerState): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of s.network?.request.ports ?? []) (out[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : "" });
  return out;
}
