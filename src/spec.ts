// The part of the OCI runtime-spec config (config.json) that mydocker uses. The docker-like CLI
// builds one of these; the engine runs it; the OCI command line will read it from a bundle.
import type { NamespaceType } from "../ffi/namespaces";
import type { CgroupResources } from "./cgroups";

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** process.capabilities: capability names as the spec writes them ("CAP_CHOWN"). */
export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/**
 * process.user. `name` and `additionalGroupNames` are mydocker's own (docker's `--user`,
 * `--group-add`): USER[:GROUP] and group names the init looks up in the container's /etc/passwd
 * and /etc/group, inside the new root; when `name` is set, uid and gid are ignored.
 */
export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  name?: string;
  additionalGroupNames?: string[];
}

/** process.rlimits[]: type is "RLIMIT_NOFILE" etc. */
export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

/** linux.devices[]: a node the init creates in /dev. */
export interface LinuxDevice {
  path: string;
  type: "c" | "b" | "u" | "p";
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** linux.resources.devices[]: the cgroup device allow/deny list, applied in order. */
export interface DeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number | null;
  minor?: number | null;
  access?: string;
}

/** linux.seccomp (runtime-spec config-linux.md "Seccomp"). */
export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: SeccompRule[];
}

export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface Spec {
  ociVersion: string;
  process: {
    terminal?: boolean;
    consoleSize?: { height: number; width: number };
    args: string[];
    env: string[];
    cwd: string;
    user?: User;
    capabilities?: Capabilities;
    rlimits?: Rlimit[];
    noNewPrivileges?: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: Mount[];
  linux: {
    namespaces: { type: NamespaceType; path?: string }[];
    resources?: CgroupResources;
    cgroupsPath?: string;
    devices?: LinuxDevice[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: LinuxSeccomp;
    sysctl?: Record<string, string>;
    rootfsPropagation?: string;
  };
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The mounts every container gets, in the order the init makes them (docker's defaults). */
export const DEFAULT_MOUNTS: Mount[] = [
  { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
  { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
  { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
  { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
  { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
  // the container's own cgroup (its cgroup namespace's root), read-only
  { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
];

export const DEFAULT_NAMESPACES: NamespaceType[] = ["pid", "network", "ipc", "uts", "mount", "cgroup"];

export interface SpecInput {
  args: string[];
  rootfs: string;
  readonly?: boolean;
  /** mounts after the defaults (volumes, tmpfs) */
  mounts?: Mount[];
  hostname: string;
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  resources?: CgroupResources;
  cgroupsPath?: string;
}

/** A runnable config with docker's defaults. `env` entries override the defaults by key. */
export function buildSpec(input: SpecInput): Spec {
  const env = new Map<string, string>([
    ["PATH", DEFAULT_PATH],
    ["HOSTNAME", input.hostname],
    ["HOME", "/root"],
  ]);
  if (input.terminal) env.set("TERM", "xterm");
  for (const kv of input.env ?? []) {
    const eq = kv.indexOf("=");
    env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? "" : kv.slice(eq + 1));
  }
  return {
    ociVersion: "1.2.0",
    process: {
      terminal: input.terminal ?? false,
      args: input.args,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd: input.cwd ?? "/",
    },
    root: { path: input.rootfs, readonly: input.readonly ?? false },
    hostname: input.hostname,
    mounts: [...DEFAULT_MOUNTS.map((m) => ({ ...m, options: [...(m.options ?? [])] })), ...(input.mounts ?? [])],
    linux: {
      namespaces: DEFAULT_NAMESPACES.map((type) => ({ type })),
      resources: input.resources,
      cgroupsPath: input.cgroupsPath,
    },
  };
}
