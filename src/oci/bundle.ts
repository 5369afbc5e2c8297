// An OCI bundle's config.json (runtime-spec config.md, config-linux.md) read into the config the
// engine runs. What mydocker cannot do is a clear error (never silently weaker isolation); what
// does not apply on this host (an LSM label, swap when there is none) is a warning.
import { readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { CgroupResources } from "../cgroups";
import { DEFAULT_DEVICE_RULES } from "../security/devices";
import type { Mount, Spec } from "../spec";
import { OciError } from "./store";

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookName = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";
export type Hooks = Partial<Record<HookName, Hook[]>>;

export interface Bundle {
  spec: Spec;
  hooks: Hooks;
  annotations?: Record<string, string>;
  /** the PID namespace to start in (a path), when the config names one */
  pidNamespace?: string;
  cgroup: { parent?: string; id: string };
  warnings: string[];
}

type Raw = Record<string, any>;

const KNOWN_NAMESPACES = new Set(["pid", "network", "ipc", "uts", "mount", "cgroup"]);

export function loadBundle(dir: string, id: string): Bundle {
  const bundle = resolve(dir);
  let raw: Raw;
  try {
    raw = JSON.parse(readFileSync(`${bundle}/config.json`, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OciError(`bundle ${bundle}: config.json: ${code ?? (e as Error).message}`);
  }
  if (!raw || typeof raw !== "object") throw new OciError(`bundle ${bundle}: config.json is not a JSON object`);
  const warnings: string[] = [];
  if (typeof raw.ociVersion !== "string" || !raw.ociVersion.startsWith("1.")) throw new OciError(`config.json: ociVersion "${raw.ociVersion}" is not 1.x`);
  const proc = raw.process as Raw | undefined;
  if (!proc || !Array.isArray(proc.args) || proc.args.length === 0) throw new OciError("config.json: process.args must name the command");
  if (!raw.root?.path) throw new OciError("config.json: root.path is missing");
  for (const f of ["apparmorProfile", "selinuxLabel"]) if (proc[f]) warnings.push(`process.${f} ignored: no such security module here`);
  const linux = (raw.linux ?? {}) as Raw;
  if (linux.uidMappings || linux.gidMappings) throw new OciError("config.json: user namespaces (uidMappings) are not supported: a threaded runtime cannot unshare CLONE_NEWUSER");
  if (linux.mountLabel) warnings.push("linux.mountLabel ignored: no SELinux here");
  for (const f of ["intelRdt", "personality", "timeOffsets"]) if (linux[f]) throw new OciError(`config.json: linux.${f} is not supported`);

  let pidNamespace: string | undefined;
  const namespaces: Spec["linux"]["namespaces"] = [];
  for (const ns of (linux.namespaces ?? []) as Raw[]) {
    if (!KNOWN_NAMESPACES.has(ns.type)) throw new OciError(`config.json: namespace "${ns.type}" is not supported`);
    if (ns.path && ns.type === "mount") throw new OciError("config.json: joining an existing mount namespace is not supported");
    if (ns.type === "pid" && ns.path) pidNamespace = ns.path;
    namespaces.push(ns.path ? { type: ns.type, path: ns.path } : { type: ns.type });
  }
  // no pid namespace in the config: the container shares ours
  if (!namespaces.some((n) => n.type === "pid")) pidNamespace = "/proc/self/ns/pid";

  const spec: Spec = {
    ...(raw as Spec),
    process: { ...(proc as Spec["process"]), cwd: proc.cwd ?? "/", env: proc.env ?? [] },
    root: { path: resolve(bundle, raw.root.path), readonly: raw.root.readonly === true },
    mounts: ((raw.mounts ?? []) as Raw[]).map((m) => bundleMount(m, bundle)),
    linux: { ...(linux as Spec["linux"]), namespaces, resources: withDefaultDeviceRules(ociResources(linux.resources, warnings)) },
  };
  delete (spec as Raw).hooks;
  return { spec, hooks: (raw.hooks ?? {}) as Hooks, annotations: raw.annotations, pidNamespace, cgroup: cgroupPlace(linux.cgroupsPath, id), warnings };
}

/** A mount of the config: bind sources relative to the bundle; `type: bind` means MS_BIND. */
function bundleMount(m: Raw, bundle: string): Mount {
  if (typeof m.destination !== "string" || !isAbsolute(m.destination)) throw new OciError(`config.json: mount destination "${m.destination}" must be an absolute path`);
  const options: string[] = [...(m.options ?? [])];
  if (options.some((o) => o === "idmap" || o === "ridmap") || m.uidMappings) throw new OciError(`config.json: mount ${m.destination}: idmapped mounts are not supported`);
  const bind = m.type === "bind" || options.includes("bind") || options.includes("rbind");
  if (bind && !options.includes("bind") && !options.includes("rbind")) options.push("bind");
  const source = bind && m.source && !isAbsolute(m.source) ? resolve(bundle, m.source) : m.source;
  return { destination: m.destination, type: bind ? "bind" : m.type, source, options };
}

/** linux.cgroupsPath, cgroupfs style: an absolute path names the cgroup; otherwise ours/mydocker/<id>. */
function cgroupPlace(path: unknown, id: string): { parent?: string; id: string } {
  if (typeof path !== "string" || path === "") return { id };
  if (path.includes(":")) throw new OciError(`config.json: cgroupsPath "${path}" is in the systemd driver's form: mydocker uses cgroupfs paths`);
  if (!isAbsolute(path)) return { id: basename(path) || id };
  const parent = dirname(path);
  return { parent: parent === "/" ? "/" : parent, id: basename(path) };
}

/**
 * The config's device rules, then the runtime's own allow list after them, as runc (specconv's
 * AllowedDevices) and youki append it: engines (podman) send only "deny all" and count on the
 * runtime to allow the standard nodes it creates; without them, mknod /dev/null fails with EPERM.
 */
function withDefaultDeviceRules(res: CgroupResources | undefined): CgroupResources | undefined {
  if (res?.devices) res.devices = [...res.devices, ...DEFAULT_DEVICE_RULES.filter((r) => r.allow)];
  return res;
}

/** linux.resources -> what the cgroup managers write. */
export function ociResources(r: Raw | undefined, warnings: string[]): CgroupResources | undefined {
  if (!r) return undefined;
  const out: CgroupResources = {};
  if (r.memory?.limit !== undefined && r.memory.limit > 0) out.memory = { limit: r.memory.limit };
  if (r.memory?.swap !== undefined && r.memory.swap !== r.memory.limit && r.memory.swap !== -1) warnings.push("linux.resources.memory.swap not applied: this host has no swap accounting in use");
  const c = r.cpu ?? {};
  const cpu: NonNullable<CgroupResources["cpu"]> = {};
  if (c.shares) cpu.shares = c.shares;
  if (c.quota && c.quota > 0) cpu.quota = c.quota;
  if (c.period) cpu.period = c.period;
  if (c.cpus) cpu.cpus = c.cpus;
  if (c.mems) cpu.mems = c.mems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pids?.limit !== undefined && r.pids.limit > 0) out.pids = { limit: r.pids.limit };
  if (Array.isArray(r.devices)) out.devices = r.devices;
  for (const f of ["blockIO", "hugepageLimits", "network", "rdma", "unified"]) if (r[f] && Object.keys(r[f]).length) warnings.push(`linux.resources.${f} not applied: not supported by mydocker's cgroup managers`);
  return out;
}
