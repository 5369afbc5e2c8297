// Capability names and numbers (<linux/capability.h>), docker's default set, and docker's rules
// for --cap-add / --cap-drop / --privileged. Pure data and functions: the init turns the names of
// the OCI config into masks with `capabilityMask`.
import type { Capabilities } from "../spec";

/** Capability number -> name, in the kernel's order. */
export const CAPABILITY_NAMES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
  "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
  "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

const NUMBER = new Map<string, number>(CAPABILITY_NAMES.map((n, i) => [n, i]));

/** docker's 14 (moby's oci/caps defaults): what a default container's root keeps. */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** The number of a capability name ("CAP_SYS_ADMIN"), or undefined. */
export function capabilityNumber(name: string): number | undefined {
  return NUMBER.get(name);
}

/**
 * A 64-bit mask of the named capabilities. Names this table does not know, or that the running
 * kernel lacks (above /proc/sys/kernel/cap_last_cap), are returned in `unknown` for the caller to
 * report: runc warns and skips them, as an older kernel may not have a newer capability.
 */
export function capabilityMask(names: string[] = [], lastCap = CAPABILITY_NAMES.length - 1): { mask: bigint; unknown: string[] } {
  let mask = 0n;
  const unknown: string[] = [];
  for (const name of names) {
    const n = NUMBER.get(name);
    if (n === undefined || n > lastCap) unknown.push(name);
    else mask |= 1n << BigInt(n);
  }
  return { mask, unknown };
}

/** "sys_admin", "SYS_ADMIN", "CAP_SYS_ADMIN" -> "CAP_SYS_ADMIN"; "all" -> "ALL"; throws on an unknown name. */
export function normalizeCapability(flag: string, text: string): string {
  const upper = text.trim().toUpperCase();
  if (upper === "ALL") return "ALL";
  const name = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!NUMBER.has(name)) throw new Error(`invalid ${flag} "${text}": unknown capability`);
  return name;
}

/**
 * The capabilities a privileged container gets: every one in `bounding`, the runtime's own
 * bounding set (CapBnd of /proc/self/status) — the kernel refuses a capability a process cannot
 * have, and a runtime that lacks one (this machine's root has no CAP_SYS_RESOURCE) cannot give it.
 */
export function allCapabilities(bounding: bigint = (1n << BigInt(CAPABILITY_NAMES.length)) - 1n): string[] {
  return CAPABILITY_NAMES.filter((_, i) => (bounding >> BigInt(i)) & 1n);
}

/** The bounding set of this process, from /proc/self/status (proc(5) CapBnd). */
export function ownBoundingSet(status: string): bigint {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/**
 * docker's TweakCapabilities: start from the defaults (or all, privileged), drop then add. `ALL`
 * in --cap-drop empties the base; `ALL` in --cap-add gives every capability. Adds come after
 * drops, as in docker: `--cap-drop ALL --cap-add CHOWN` keeps CHOWN alone.
 */
export function effectiveCapabilities(o: { add: string[]; drop: string[]; privileged: boolean; bounding?: bigint }): string[] {
  const all = allCapabilities(o.bounding);
  if (o.privileged) return all;
  let set = new Set<string>(o.drop.includes("ALL") ? [] : DEFAULT_CAPABILITIES);
  for (const d of o.drop) set.delete(d);
  if (o.add.includes("ALL")) set = new Set(all);
  for (const a of o.add) if (a !== "ALL") set.add(a);
  return all.filter((c) => set.has(c)); // kernel order
}

/** Is `user` (USER[:GROUP]) the root user? A name other than root is resolved later, in the root. */
export const isRootUser = (user: string | undefined) => user === undefined || /^(root|0)(:|$)/.test(user);

/**
 * docker's capability sets: the chosen ones in bounding, effective and permitted for root; a
 * non-root user keeps them only in the bounding set (what docker gives it: CapEff 0). The
 * inheritable set stays empty, as docker (20.10.14+) and runc (1.1.2+) leave it since
 * CVE-2022-24769: with it, a non-root user could gain capabilities by executing a file that
 * carries inheritable file capabilities.
 */
export function capabilitySets(names: string[], rootUser: boolean): Capabilities {
  return rootUser
    ? { bounding: names, effective: names, permitted: names, inheritable: [], ambient: [] }
    : { bounding: names, effective: [], permitted: [], inheritable: [], ambient: [] };
}

