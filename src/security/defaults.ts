// docker's defaults for what a container may do, expressed in the OCI config's own fields
// (process.capabilities, noNewPrivileges, user, rlimits; linux.maskedPaths, readonlyPaths,
// seccomp, devices, resources.devices, sysctl). The docker-like CLI fills them here, once; the
// init applies whatever a config says, so a config.json from another engine is treated the same.
import { readFileSync } from "node:fs";
import type { DeviceRule, LinuxDevice, LinuxSeccomp, Rlimit, Spec } from "../spec";
import { capabilitySets, effectiveCapabilities, isRootUser } from "./capabilities";
import { DEFAULT_DEVICE_RULES, DEFAULT_DEVICES, PRIVILEGED_DEVICE_RULES, hostDevices } from "./devices";
import { DEFAULT_PROFILE, parseDockerProfile, toOciSeccomp } from "./seccomp-profile";

/** Paths whose contents are hidden: /dev/null on files, an empty read-only tmpfs on directories. */
export const MASKED_PATHS = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Paths the container may read but never write. */
export const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export interface SecurityOptions {
  privileged: boolean;
  /** normalized names ("CAP_SYS_ADMIN") or "ALL" */
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  /** "default", "unconfined", or the path of a profile in docker's JSON format */
  seccomp: string;
  /** USER[:GROUP] (names or ids), resolved inside the container's root */
  user?: string;
  groupAdd: string[];
  rlimits: Rlimit[];
  sysctl: Record<string, string>;
  devices: { device: LinuxDevice; rule: DeviceRule }[];
  /** the runtime's own bounding set: what "all capabilities" can mean here */
  bounding?: bigint;
}

/** The seccomp config for the chosen profile and capabilities, or undefined when unconfined. */
export function seccompFor(profile: string, caps: string[]): LinuxSeccomp | undefined {
  if (profile === "unconfined") return undefined;
  if (profile === "default") return toOciSeccomp(DEFAULT_PROFILE, caps);
  let text: string;
  try {
    text = readFileSync(profile, "utf8");
  } catch (e) {
    throw new Error(`--security-opt seccomp=${profile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return toOciSeccomp(parseDockerProfile(text, profile), caps);
}

/** Fills the security fields of `spec` from docker's defaults and the user's options. */
export function applySecurity(spec: Spec, o: SecurityOptions): void {
  const caps = effectiveCapabilities({ add: o.capAdd, drop: o.capDrop, privileged: o.privileged, bounding: o.bounding });
  const rootUser = isRootUser(o.user);
  spec.process.capabilities = capabilitySets(caps, rootUser);
  spec.process.noNewPrivileges = o.noNewPrivileges;
  if (!rootUser || o.groupAdd.length) {
    const numeric = o.groupAdd.filter((g) => /^\d+$/.test(g)).map(Number);
    const named = o.groupAdd.filter((g) => !/^\d+$/.test(g));
    spec.process.user = { uid: 0, gid: 0, name: o.user ?? "0", additionalGids: numeric, ...(named.length ? { additionalGroupNames: named } : {}) };
    if (!rootUser) spec.process.env = spec.process.env.filter((e) => !e.startsWith("HOME=")); // from /etc/passwd
  }
  if (o.rlimits.length) spec.process.rlimits = o.rlimits;
  if (Object.keys(o.sysctl).length) spec.linux.sysctl = o.sysctl;
  const extraDevices = o.devices.map((d) => d.device);
  const extraRules = o.devices.map((d) => d.rule);
  const resources = (spec.linux.resources ??= {});
  if (o.privileged) {
    // docker --privileged: every capability, no seccomp, nothing masked, every host device,
    // /sys and the cgroup filesystem writable.
    spec.linux.devices = [...hostDevices(), ...extraDevices];
    resources.devices = PRIVILEGED_DEVICE_RULES;
    for (const m of spec.mounts) if (m.type === "sysfs" || m.type === "cgroup") m.options = (m.options ?? []).filter((x) => x !== "ro");
    return;
  }
  spec.linux.devices = [...DEFAULT_DEVICES, ...extraDevices];
  resources.devices = [...DEFAULT_DEVICE_RULES, ...extraRules];
  spec.linux.maskedPaths = [...MASKED_PATHS];
  spec.linux.readonlyPaths = [...READONLY_PATHS];
  const seccomp = seccompFor(o.seccomp, caps);
  if (seccomp) spec.linux.seccomp = seccomp;
}
