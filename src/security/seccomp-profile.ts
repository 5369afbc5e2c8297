// Docker's seccomp profile format (moby profiles/seccomp: the file `--security-opt seccomp=F`
// takes) and its translation to the OCI runtime-spec's linux.seccomp for one container: entries
// are kept or dropped by the container's capabilities, the host's architecture and the running
// kernel, the way docker's daemon does it before handing the config to runc.
import { release } from "node:os";
import type { LinuxSeccomp, SeccompRule } from "../spec";
import defaultProfileJson from "./seccomp-default.json" with { type: "json" };

export interface DockerSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** When an entry applies: every listed cap held, the host's arch listed, kernel >= minKernel. */
export interface DockerSeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface DockerSeccompSyscall {
  /** the old single-name form; use either `name` or `names` */
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: DockerSeccompArg[] | null;
  comment?: string;
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

export interface DockerSeccompProfile {
  comment?: string;
  defaultAction: string;
  defaultErrnoRet?: number;
  /** either a flat list of architectures... */
  architectures?: string[];
  /** ...or per native architecture, the ones it also runs (x86_64 runs x86 and x32 code) */
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  flags?: string[];
  syscalls?: DockerSeccompSyscall[];
}

/** mydocker's default profile (src/security/seccomp-default.json; bundled by `bun build`). */
export const DEFAULT_PROFILE: DockerSeccompProfile = defaultProfileJson as DockerSeccompProfile;

/** The actions and comparison operators the compiler (src/security/seccomp.ts) supports. */
export const SECCOMP_ACTIONS = [
  "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG",
] as const;
export const SECCOMP_OPS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;
export const SECCOMP_FLAGS = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] as const;

/** errno values are 1..4095 (MAX_ERRNO); 0 makes the call "succeed" without running. */
const MAX_ERRNO = 4095;

/**
 * Parses and checks a docker seccomp profile. Throws an Error whose one-line message names
 * `source` and the problem, e.g. `seccomp profile p.json: syscalls[3]: unknown action "SCMP_ACT_FOO"`.
 * Unknown fields are ignored, as docker does.
 */
export function parseDockerProfile(text: string, source: string): DockerSeccompProfile {
  const fail = (what: string): never => {
    throw new Error(`seccomp profile ${source}: ${what}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`invalid JSON: ${oneLine((e as Error).message)}`);
  }
  if (!isObject(raw)) return fail("not a JSON object");
  const p = raw as Record<string, unknown>;

  if (typeof p.defaultAction !== "string") fail('"defaultAction" is missing');
  checkAction(p.defaultAction as string, "defaultAction", fail);
  checkErrno(p.defaultErrnoRet, "defaultErrnoRet", fail);
  if (p.architectures !== undefined && p.architectures !== null) {
    if (!isStringArray(p.architectures)) fail('"architectures" must be a list of names');
  }
  if (p.archMap !== undefined && p.archMap !== null) {
    if (!Array.isArray(p.archMap)) fail('"archMap" must be a list');
    (p.archMap as unknown[]).forEach((a, i) => {
      const at = `archMap[${i}]`;
      if (!isObject(a) || typeof a.architecture !== "string") fail(`${at}: "architecture" is missing`);
      const sub = (a as Record<string, unknown>).subArchitectures;
      if (sub !== undefined && sub !== null && !isStringArray(sub)) fail(`${at}: "subArchitectures" must be a list of names`);
    });
  }
  if (nonEmpty(p.architectures) && nonEmpty(p.archMap)) fail('use either "architectures" or "archMap", not both');
  if (p.flags !== undefined && p.flags !== null) {
    if (!isStringArray(p.flags)) fail('"flags" must be a list of names');
    for (const f of p.flags as string[]) {
      if (!(SECCOMP_FLAGS as readonly string[]).includes(f)) fail(`unknown flag "${f}"`);
    }
  }
  if (p.syscalls !== undefined && p.syscalls !== null && !Array.isArray(p.syscalls)) fail('"syscalls" must be a list');
  ((p.syscalls ?? []) as unknown[]).forEach((s, i) => checkSyscall(s, `syscalls[${i}]`, fail));
  return p as unknown as DockerSeccompProfile;
}

function checkSyscall(s: unknown, at: string, fail: (what: string) => never): void {
  if (!isObject(s)) fail(`${at}: not an object`);
  const c = s as Record<string, unknown>;
  const hasName = c.name !== undefined && c.name !== "";
  const hasNames = nonEmpty(c.names);
  if (hasName && hasNames) fail(`${at}: use either "name" or "names", not both`);
  if (hasName && typeof c.name !== "string") fail(`${at}: "name" must be a string`);
  if (c.names !== undefined && c.names !== null && !isStringArray(c.names)) fail(`${at}: "names" must be a list of names`);
  if (!hasName && !hasNames) fail(`${at}: no syscall names`);
  if (typeof c.action !== "string") fail(`${at}: "action" is missing`);
  checkAction(c.action as string, `${at}`, fail);
  checkErrno(c.errnoRet, `${at}: errnoRet`, fail);
  if (c.args !== undefined && c.args !== null) {
    if (!Array.isArray(c.args)) fail(`${at}: "args" must be a list`);
    (c.args as unknown[]).forEach((a, j) => checkArg(a, `${at}.args[${j}]`, fail));
  }
  for (const key of ["includes", "excludes"] as const) {
    const f = c[key];
    if (f === undefined || f === null) continue;
    if (!isObject(f)) fail(`${at}: "${key}" must be an object`);
    const g = f as Record<string, unknown>;
    if (g.caps !== undefined && g.caps !== null && !isStringArray(g.caps)) fail(`${at}: ${key}.caps must be a list of names`);
    if (g.arches !== undefined && g.arches !== null && !isStringArray(g.arches)) fail(`${at}: ${key}.arches must be a list of names`);
    if (g.minKernel !== undefined && g.minKernel !== "" && parseKernelVersion(g.minKernel) === undefined) {
      fail(`${at}: ${key}.minKernel ${JSON.stringify(g.minKernel)} is not a kernel version like "4.8"`);
    }
  }
}

function checkArg(a: unknown, at: string, fail: (what: string) => never): void {
  if (!isObject(a)) fail(`${at}: not an object`);
  const g = a as Record<string, unknown>;
  if (!isUint(g.index) || (g.index as number) > 5) fail(`${at}: "index" must be 0 to 5`);
  if (!isUint(g.value)) fail(`${at}: "value" must be a non-negative integer below 2^53`);
  if (g.valueTwo !== undefined && !isUint(g.valueTwo)) fail(`${at}: "valueTwo" must be a non-negative integer below 2^53`);
  if (typeof g.op !== "string" || !(SECCOMP_OPS as readonly string[]).includes(g.op)) {
    fail(`${at}: unknown operator ${JSON.stringify(g.op)} (known: ${SECCOMP_OPS.join(", ")})`);
  }
}

function checkAction(action: string, at: string, fail: (what: string) => never): void {
  if (!(SECCOMP_ACTIONS as readonly string[]).includes(action)) {
    fail(`${at}: unknown action ${JSON.stringify(action)} (known: ${SECCOMP_ACTIONS.join(", ")})`);
  }
}

function checkErrno(v: unknown, at: string, fail: (what: string) => never): void {
  if (v === undefined || v === null) return;
  if (!isUint(v) || (v as number) > MAX_ERRNO) fail(`${at} must be an errno number from 0 to ${MAX_ERRNO}`);
}

/**
 * The OCI linux.seccomp for a container holding `caps` (OCI names, "CAP_SYS_ADMIN"), on this
 * host's architecture and kernel. Docker's rules: an entry is dropped when the host's arch is in
 * excludes.arches, when any excludes.caps is held, or when the kernel is >= excludes.minKernel;
 * it is kept only when the arch is in includes.arches (if given), every includes.caps is held,
 * and the kernel is >= includes.minKernel.
 */
export function toOciSeccomp(profile: DockerSeccompProfile, caps: string[]): LinuxSeccomp {
  const arch = hostArch();
  const held = new Set(caps.map((c) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`)));
  const kernel = parseKernelVersion(release());
  const kernelAtLeast = (v: string) => {
    const want = parseKernelVersion(v);
    if (!want) throw new Error(`seccomp profile: minKernel ${JSON.stringify(v)} is not a kernel version like "4.8"`);
    return !kernel || compareVersions(kernel, want) >= 0;
  };

  const out: LinuxSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined && profile.defaultErrnoRet !== null) out.defaultErrnoRet = profile.defaultErrnoRet;

  if (nonEmpty(profile.architectures) && nonEmpty(profile.archMap)) {
    throw new Error('seccomp profile: use either "architectures" or "archMap", not both');
  }
  if (nonEmpty(profile.architectures)) out.architectures = [...profile.architectures!];
  const mapped = profile.archMap?.find((a) => a.architecture === arch.scmp);
  if (mapped) out.architectures = [mapped.architecture, ...(mapped.subArchitectures ?? [])];
  if (nonEmpty(profile.flags)) out.flags = [...profile.flags!];

  const rules: SeccompRule[] = [];
  for (const s of profile.syscalls ?? []) {
    const ex = s.excludes ?? {};
    const inc = s.includes ?? {};
    if (ex.arches?.includes(arch.docker)) continue;
    if (ex.caps?.some((c) => held.has(c))) continue;
    if (ex.minKernel && kernelAtLeast(ex.minKernel)) continue;
    if (nonEmpty(inc.arches) && !inc.arches!.includes(arch.docker)) continue;
    if (inc.caps && !inc.caps.every((c) => held.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel)) continue;

    const rule: SeccompRule = { names: s.name ? [s.name] : [...(s.names ?? [])], action: s.action };
    if (s.errnoRet !== undefined && s.errnoRet !== null) rule.errnoRet = s.errnoRet;
    if (s.args && s.args.length > 0) {
      rule.args = s.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    }
    rules.push(rule);
  }
  out.syscalls = rules;
  return out;
}

/**
 * The host's architecture as docker's profiles name it (Go's GOARCH: includes/excludes.arches)
 * and as libseccomp does (archMap).
 */
export function hostArch(): { docker: string; scmp: string } {
  switch (process.arch) {
    case "x64":
      return { docker: "amd64", scmp: "SCMP_ARCH_X86_64" };
    case "arm64":
      return { docker: "arm64", scmp: "SCMP_ARCH_AARCH64" };
    case "ia32":
      return { docker: "x86", scmp: "SCMP_ARCH_X86" };
    case "arm":
      return { docker: "arm", scmp: "SCMP_ARCH_ARM" };
    case "s390x":
      return { docker: "s390x", scmp: "SCMP_ARCH_S390X" };
    case "ppc64":
      return { docker: "ppc64le", scmp: "SCMP_ARCH_PPC64LE" };
    case "riscv64":
      return { docker: "riscv64", scmp: "SCMP_ARCH_RISCV64" };
    default:
      return { docker: process.arch, scmp: `SCMP_ARCH_${process.arch.toUpperCase()}` };
  }
}

/** "6.1.0-18-amd64" -> [6, 1, 0]; "4.8" -> [4, 8, 0]; undefined when it does not start with X.Y. */
export function parseKernelVersion(v: unknown): [number, number, number] | undefined {
  if (typeof v !== "string") return undefined;
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
const isUint = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
