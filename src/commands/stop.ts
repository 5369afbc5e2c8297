// `mydocker stop [-t SECONDS] NAME...` and `mydocker kill [-s SIGNAL] NAME...`.
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { openCgroup } from "../cgroups";
import { findLive, initAlive, monitorAlive, waitFor } from "../state/live";
import { signalProcess } from "../state/proc";
import { readState, type ContainerState } from "../state/store";
import { finishOrphan } from "../containers/lifecycle";
import { markStoppedByUser } from "../containers/restart";
import { parseCommand } from "./args";
import { containerActor, emit } from "../events";
import { constants } from "node:os";

const isUp = (s: ContainerState | undefined) => !!s && (s.status === "running" || s.status === "paused");

/** docker's default grace before SIGKILL */
export const DEFAULT_STOP_TIMEOUT = 10;

/** What `stop` sends when not told: the container's --stop-signal (or its image's), else SIGTERM. */
export function stopSignalOf(s: ContainerState): NodeJS.Signals | number {
  try {
    return typeof s.stopSignal === "string" ? parseSignal(s.stopSignal) : "SIGTERM";
  } catch {
    return "SIGTERM"; // an image's StopSignal we cannot read
  }
}

/** How long `stop` waits when not told (-t): the container's --stop-timeout, else 10 s; -1 is forever. */
export function stopTimeoutOf(s: ContainerState): number {
  const t = s.stopTimeout;
  if (typeof t !== "number" || !Number.isInteger(t) || t < -1) return DEFAULT_STOP_TIMEOUT;
  return t === -1 ? Infinity : t;
}

const signalNumber = (sig: NodeJS.Signals | number) => String(typeof sig === "number" ? sig : constants.signals[sig]);

/**
 * The stop signal (SIGTERM unless the container says otherwise), then SIGKILL after
 * `graceSeconds` (default: the container's --stop-timeout, else 10). A PID 1 ignores signals it
 * has no handler for (pid_namespaces(7)), hence the second step. Returns once the exit is recorded.
 */
export async function stopContainer(s: ContainerState, graceSeconds = stopTimeoutOf(s), signal = stopSignalOf(s)): Promise<void> {
  markStoppedByUser(s.id); // its restart policy must not bring it back (also between two runs)
  if (!isUp(s)) return;
  if (s.status === "paused") thaw(s); // a frozen process acts on no signal until thawed
  emit("container", "kill", containerActor(s, { signal: signalNumber(signal) }));
  signalProcess(s.pid, s.pidStartTime, signal);
  if (!(await waitFor(s.id, (now) => !now || !initAlive(now), graceSeconds * 1000))) {
    emit("container", "kill", containerActor(s, { signal: "9" }));
    signalProcess(s.pid, s.pidStartTime, "SIGKILL");
    await waitFor(s.id, (now) => !now || !initAlive(now), 10_000);
  }
  await settle(s);
  emit("container", "stop", containerActor(s));
}

/** After PID 1 is gone: let the monitor record the exit, or do its work if it is dead. */
export async function settle(s: ContainerState): Promise<void> {
  await waitFor(s.id, (now) => !now || now.status === "exited" || !monitorAlive(now), 5_000);
  const now = readState(s.id);
  if (now && now.status !== "exited") finishOrphan(now, { evenIfSupervised: true });
}

function thaw(s: ContainerState): void {
  openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup }).setFrozen(false);
}

const stopArgs = {
  time: { type: "string", alias: "t", valueHint: "10", description: "Seconds to wait before SIGKILL (default: the container's --stop-timeout, else 10)" },
  signal: { type: "string", alias: "s", valueHint: "SIGTERM", description: "Signal to send first (default: the container's --stop-signal, else SIGTERM)" },
} as const;

export const stop = defineCommand({
  meta: { name: "stop", description: "Stop running containers (SIGTERM, then SIGKILL)" },
  args: { ...stopArgs, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("stop", rawArgs, stopArgs, 1, "CONTAINER...");
    const grace = options.time === undefined ? undefined : Number(options.time);
    if (grace !== undefined && !(grace >= 0) && grace !== -1) throw new FlagError(`invalid --time "${options.time}": expected seconds`);
    const signal = options.signal === undefined ? undefined : parseSignal(options.signal as string);
    for (const ref of positionals) {
      const s = findLive(ref);
      await stopContainer(s, grace === undefined ? undefined : grace === -1 ? Infinity : grace, signal);
      console.log(ref);
    }
  },
});

const killArgs = { signal: { type: "string", alias: "s", valueHint: "KILL", description: "Signal to send" } } as const;

/** `KILL`, `SIGKILL`, `9` -> a signal Node accepts. */
export function parseSignal(text: string): NodeJS.Signals | number {
  if (/^\d+$/.test(text)) {
    if (Number(text) < 1 || Number(text) > 64) throw new FlagError(`invalid signal "${text}": signals are 1 to 64`);
    return Number(text);
  }
  const name = (text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`) as NodeJS.Signals;
  if (!(name in constants.signals)) throw new FlagError(`invalid signal "${text}"`);
  return name;
}

export const kill = defineCommand({
  meta: { name: "kill", description: "Send a signal to running containers" },
  args: { ...killArgs, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("kill", rawArgs, killArgs, 1, "CONTAINER...");
    const signal = parseSignal((options.signal as string | undefined) ?? "KILL");
    for (const ref of positionals) {
      const s = findLive(ref);
      if (!isUp(s)) throw new UsageError(`container ${ref} is not running`);
      if (signal === "SIGKILL" || signal === 9 || signal === stopSignalOf(s)) markStoppedByUser(s.id); // docker: no restart after
      if (!signalProcess(s.pid, s.pidStartTime, signal)) throw new UsageError(`container ${ref} is not running`);
      emit("container", "kill", containerActor(s, { signal: String(typeof signal === "number" ? signal : require("node:os").constants.signals[signal]) }));
      console.log(ref);
    }
  },
});
