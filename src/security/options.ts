// docker's security flags of `run` (and `exec -u`) -> SecurityOptions. Each bad value is a
// one-line UsageError naming the flag; nothing is touched on the host.
import { readFileSync } from "node:fs";
import { UsageError, type OptionValues } from "../cli/argv";
import { RLIMITS } from "../../ffi/credentials";
import type { Rlimit } from "../spec";
import { normalizeCapability, ownBoundingSet } from "./capabilities";
import type { SecurityOptions } from "./defaults";
import { parseDeviceFlag } from "./devices";
import { parseSysctl } from "./sysctl";

export const securityArgs = {
  privileged: { type: "boolean", description: "Give every capability, every host device, no seccomp, no masked paths" },
  "cap-add": { type: "string", valueHint: "CAP...", description: "Add a Linux capability (repeatable; ALL)" },
  "cap-drop": { type: "string", valueHint: "CAP...", description: "Drop a Linux capability (repeatable; ALL)" },
  "security-opt": { type: "string", valueHint: "OPT...", description: "no-new-privileges, seccomp=unconfined|PROFILE.json (repeatable)" },
  user: { type: "string", alias: "u", valueHint: "USER[:GROUP]", description: "User name or uid, group name or gid, from the container's /etc/passwd" },
  "group-add": { type: "string", valueHint: "GROUP...", description: "Add a supplementary group (repeatable)" },
  ulimit: { type: "string", valueHint: "nofile=SOFT:HARD...", description: "Set a resource limit (repeatable)" },
  sysctl: { type: "string", valueHint: "KEY=VALUE...", description: "Set a namespaced kernel parameter (repeatable)" },
  device: { type: "string", valueHint: "/dev/X[:/dev/Y][:rwm]...", description: "Add a host device (repeatable)" },
} as const;

const list = (o: OptionValues, name: string) => (o[name] as string[] | undefined) ?? [];

/** Runs `fn`, turning its Error into a UsageError (exit 125 on run). */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
}

export function securityOptions(o: OptionValues, namespaces: string[]): SecurityOptions {
  let noNewPrivileges = false;
  let seccomp = "default";
  for (const opt of list(o, "security-opt")) {
    const [key, value] = splitOpt(opt);
    if (key === "no-new-privileges") {
      if (value !== undefined && value !== "true" && value !== "false") throw new UsageError(`invalid --security-opt "${opt}": no-new-privileges takes true or false`);
      noNewPrivileges = value !== "false";
    } else if (key === "seccomp" && value) seccomp = value;
    else if (key === "apparmor" || key === "label") continue; // not on this host: accepted and ignored, as docker does without the LSM
    else throw new UsageError(`invalid --security-opt "${opt}": expected no-new-privileges or seccomp=unconfined|PROFILE`);
  }
  if (seccomp !== "default" && seccomp !== "unconfined") {
    try {
      readFileSync(seccomp); // a missing profile fails now, before anything is made
    } catch (e) {
      throw new UsageError(`invalid --security-opt "seccomp=${seccomp}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const sysctl: Record<string, string> = {};
  for (const s of list(o, "sysctl")) {
    const [k, v] = usage(() => parseSysctl(s, namespaces));
    sysctl[k] = v;
  }
  const user = o.user as string | undefined;
  if (user !== undefined && !/^[^:\s]+(:[^:\s]+)?$/.test(user)) throw new UsageError(`invalid --user "${user}": expected USER[:GROUP]`);
  return {
    privileged: o.privileged === true,
    capAdd: list(o, "cap-add").map((c) => usage(() => normalizeCapability("--cap-add", c))),
    capDrop: list(o, "cap-drop").map((c) => usage(() => normalizeCapability("--cap-drop", c))),
    noNewPrivileges,
    seccomp,
    user,
    groupAdd: list(o, "group-add"),
    rlimits: list(o, "ulimit").map(parseUlimit),
    sysctl,
    devices: list(o, "device").map((d) => usage(() => parseDeviceFlag(d))),
    bounding: ownBoundingSet(readFileSync("/proc/self/status", "utf8")),
  };
}

/** docker accepts both `seccomp=x` and the older `seccomp:x`. */
function splitOpt(opt: string): [string, string | undefined] {
  const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(opt);
  return m ? [m[1]!, m[2]] : [opt, undefined];
}

/** `--ulimit nofile=1024[:2048]`: docker's names; a soft limit alone sets both. */
export function parseUlimit(text: string): Rlimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text);
  if (!m) throw new UsageError(`invalid --ulimit "${text}": expected NAME=SOFT[:HARD]`);
  const type = `RLIMIT_${m[1]!.toUpperCase()}`;
  if (!(type in RLIMITS)) throw new UsageError(`invalid --ulimit "${text}": unknown resource ${m[1]}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft !== -1 && hard !== -1 && soft > hard) throw new UsageError(`invalid --ulimit "${text}": soft limit ${soft} is above the hard limit ${hard}`);
  return { type, soft, hard };
}
