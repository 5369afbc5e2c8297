// How the container's init process is spawned: `mydocker init` in a new PID namespace (or an
// existing one), its orders socket on fd 3, with the init's environment. Apart from
// engine/container.ts so that a start can spawn its init before it loads the rest (head-start.ts).
import { closeSync } from "node:fs";
import type { Subprocess } from "bun";
import { withChildNamespace } from "../../ffi/namespaces";
import { detectCgroupVersion } from "../cgroups/version";
import { step } from "../trace";
import { INIT_ENV, selfCommand } from "./self";

export type StdioPlan = ["inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe"];

export type InitProcess = Subprocess<"inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe">;

/**
 * An init spawned before its container is even recorded (`run` in the foreground: its Bun then
 * starts while we load the CLI, read the flags and write the record). It waits for orders on
 * fd 3; if none come (a bad flag, a name in use, a kill), it exits at the EOF, or at our SIGKILL
 * (abandonEarlyInit).
 */
export interface EarlyInit {
  init: InitProcess;
  stdio: StdioPlan;
  newNetworkNamespace: boolean;
  used: boolean;
}

/** `mydocker init` in a new PID namespace (or the one at `pidNamespace`), fd 3 its orders socket. */
export function spawnInit(stdio: StdioPlan, pidNamespace: string | undefined, newNetworkNamespace: boolean, birth?: string, when = ""): InitProcess {
  return withChildNamespace(
    "pid",
    () =>
      step(`spawn \`mydocker init\`${when} (Bun.spawn: vfork + exec${birth ? ", into its cgroup" : ""}${newNetworkNamespace ? ", in a new network namespace" : ""})`, () =>
        Bun.spawn(selfCommand("init"), { stdio: [...stdio, "pipe"], env: INIT_ENV, ...(birth ? { cgroup: birth } : {}) }),
      ),
    pidNamespace,
    newNetworkNamespace,
  ) as InitProcess;
}

/**
 * Spawns `mydocker init` now, in a new PID (and, with `newNetworkNamespace`, network)
 * namespace, for a start that comes later: see EarlyInit. Undefined where the init must be born
 * in its cgroup (v2: the cgroup is made first, and needs the recorded container).
 */
export function spawnInitEarly(stdio: StdioPlan, newNetworkNamespace: boolean, when = ""): EarlyInit | undefined {
  if (detectCgroupVersion() === 2) return undefined;
  return { init: spawnInit(stdio, undefined, newNetworkNamespace, undefined, when), stdio, newNetworkNamespace, used: false };
}

/** An early init that no start took (the run failed before it): ended, so nothing is left. */
export function abandonEarlyInit(early: EarlyInit | undefined): void {
  if (!early || early.used) return;
  early.used = true;
  early.init.kill("SIGKILL");
  closeSync(early.init.stdio[3] as unknown as number);
}
