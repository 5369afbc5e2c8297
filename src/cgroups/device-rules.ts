/**
 * linux.resources.devices as the cgroup v1 devices controller understands it
 * (kernel Documentation/admin-guide/cgroup-v1/devices.rst, security/device_cgroup.c):
 *
 * - a cgroup has a default behaviour (allow or deny) and a list of exceptions to it;
 * - a rule of type "a" sets the default ("a" to devices.deny: deny all) and empties the list;
 * - any other rule whose verdict is the opposite of the default adds an exception (merging its
 *   access into an existing entry with the same type and numbers); one whose verdict equals the
 *   default takes its access away from the entry with exactly the same type and numbers. It does
 *   not punch a hole in a wildcard entry: after "allow c *:* rwm", "deny c 1:3 rwm" changes nothing;
 * - a check in default-deny mode needs one exception that covers the device and all the access
 *   asked for; in default-allow mode any exception that covers the device and shares one access
 *   bit denies it.
 *
 * The v1 manager writes the rules to the kernel, which applies them this way; `effectiveDeviceRules`
 * does the same in memory, so that the v2 BPF program (device-filter.ts) decides exactly as v1.
 */
import type { DeviceRule } from "../spec";

// BPF_DEVCG_ACC_* (include/uapi/linux/bpf.h); v1 uses the same letters.
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
export const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;

/** A rule with its defaults filled in: type "a", wildcard numbers, access "rwm". */
export interface NormalRule {
  allow: boolean;
  type: "a" | "c" | "b";
  major: number | null; // null: any ("*")
  minor: number | null;
  access: number; // ACC_* bits
}

/** An exception to the default behaviour, as devices.list shows it. */
export interface DeviceException {
  type: "c" | "b";
  major: number | null;
  minor: number | null;
  access: number;
}

export interface EffectiveDeviceRules {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

const LETTERS: [string, number][] = [["r", ACC_READ], ["w", ACC_WRITE], ["m", ACC_MKNOD]];

/** "rwm" -> bits; throws on anything else, an empty string or a repeated letter. */
export function parseAccess(text: string): number {
  let bits = 0;
  for (const ch of text) {
    const bit = LETTERS.find(([l]) => l === ch)?.[1];
    if (bit === undefined || bits & bit) throw new Error(`invalid device access "${text}": must be a non-empty subset of "rwm"`);
    bits |= bit;
  }
  if (bits === 0) throw new Error(`invalid device access "${text}": must be a non-empty subset of "rwm"`);
  return bits;
}

export function formatAccess(bits: number): string {
  return LETTERS.filter(([, b]) => bits & b).map(([l]) => l).join("");
}

/** OCI: a missing number (or -1, runc's spelling) is the wildcard. Device numbers are u32; the
 *  kernel stores the wildcard as ~0, so that value is not a number of its own. */
function number(what: string, n: number | null | undefined): number | null {
  if (n === undefined || n === null || n === -1) return null;
  if (!Number.isInteger(n) || n < 0 || n >= 0xffffffff) throw new Error(`invalid device rule: ${what} ${n}`);
  return n;
}

export function normalizeRule(r: DeviceRule): NormalRule {
  const type = r.type ?? "a";
  if (type !== "a" && type !== "c" && type !== "b") throw new Error(`invalid device rule: type "${type}"`);
  return { allow: r.allow === true, type, major: number("major", r.major), minor: number("minor", r.minor), access: parseAccess(r.access ?? "rwm") };
}

const num = (n: number | null) => (n === null ? "*" : String(n));

/** The line for devices.allow / devices.deny (and as devices.list shows an entry): "c 1:3 rwm". */
export function v1Line(r: NormalRule | DeviceException): string {
  if (r.type === "a") return "a *:* rwm"; // the kernel reads only the "a"
  return `${r.type} ${num(r.major)}:${num(r.minor)} ${formatAccess(r.access)}`;
}

/**
 * The state a v1 devices cgroup ends in after devices.deny "a" and then `rules` in order (what
 * the v1 manager writes). Exceptions keep the order in which they were first added, as the
 * kernel's list does.
 */
export function effectiveDeviceRules(rules: DeviceRule[]): EffectiveDeviceRules {
  let defaultAllow = false;
  let exceptions: DeviceException[] = [];
  for (const rule of rules.map(normalizeRule)) {
    if (rule.type === "a") {
      defaultAllow = rule.allow;
      exceptions = [];
      continue;
    }
    const same = exceptions.find((e) => e.type === rule.type && e.major === rule.major && e.minor === rule.minor);
    if (rule.allow !== defaultAllow) {
      if (same) same.access |= rule.access;
      else exceptions.push({ type: rule.type, major: rule.major, minor: rule.minor, access: rule.access });
    } else if (same) {
      same.access &= ~rule.access;
      if (same.access === 0) exceptions = exceptions.filter((e) => e !== same);
    }
  }
  return { defaultAllow, exceptions };
}

/** The kernel's verdict for one access (bits) to one device, given the effective rules. */
export function deviceAccessAllowed(eff: EffectiveDeviceRules, type: "c" | "b", major: number, minor: number, access: number): boolean {
  const covers = (e: DeviceException) => e.type === type && (e.major === null || e.major === major) && (e.minor === null || e.minor === minor);
  if (eff.defaultAllow) return !eff.exceptions.some((e) => covers(e) && (e.access & access) !== 0);
  return eff.exceptions.some((e) => covers(e) && (access & ~e.access) === 0);
}
