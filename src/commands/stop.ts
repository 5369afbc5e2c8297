// `mydocker stop [-t SECONDS] NAME...` and `mydocker kill [-s SIGNAL] NAME...`.
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { openCgroup } from "../cgroups";
import { findLive, initAlive, monitorAlive, refresh, waitFor } from "../state/live";
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
  const now = await cancelRestarts(s);
  if (!now || !isUp(now)) return;
  s = now;
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

/** Its monitor is starting it (a first start, or a restart after the backoff). */
const startingUnderMonitor = (s: ContainerState) => s.status === "created" && s.monitorPid !== undefined && monitorAlive(s);

/** Between two runs of its restart policy: waiting out the backoff, or being started again. */
export const isRestarting = (s: ContainerState) =>
  (s.restarting === true && monitorAlive(s)) || (startingUnderMonitor(s) && (s.restartCount ?? 0) > 0);

/**
 * Its restart policy ends (the mark is recorded first), then what its monitor is doing between two
 * runs is waited out: a start under way ends running (to be stopped as any running container), a
 * backoff ends with the monitor seeing the mark (it checks every 50 ms). Returns the record then.
 */
export async function cancelRestarts(s: ContainerState): Promise<ContainerState | undefined> {
  const marked = markStoppedByUser(s.id);
  if (!marked) return undefined;
  if (startingUnderMonitor(marked)) await waitFor(s.id, (now) => !now || !startingUnderMonitor(now), 10_000);
  await waitFor(s.id, (now) => !now || !now.restarting || !monitorAlive(now), 5_000);
  const now = readState(s.id);
  return now && refresh(now); // a monitor killed in the backoff leaves it simply exited
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

/**
 * docker's rule (daemon/kill.go): a kill ends the restart policy unless the container has a stop
 * signal of its own and this is neither that signal nor SIGKILL. `15` and `TERM` are one signal.
 */
export function cancelsRestart(s: ContainerState, signal: NodeJS.Signals | number): boolean {
  const sent = signalNumber(signal);
  if (sent === "9" || s.stopSignal === undefined) return true;
  return sent === signalNumber(stopSignalOf(s));
}

/** A start its monitor has under way: let it end (running, or failed) before signalling. */
async function startedOrEnded(s: ContainerState): Promise<ContainerState | undefined> {
  await waitFor(s.id, (now) => !now || !startingUnderMonitor(now), 10_000);
  return readState(s.id);
}

export const kill = defineCommand({
  meta: { name: "kill", description: "Send a signal to running containers" },
  args: { ...killArgs, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("kill", rawArgs, killArgs, 1, "CONTAINER...");
    const signal = parseSignal((options.signal as string | undefined) ?? "KILL");
    for (const ref of positionals) {
      let s = findLive(ref);
      // in its restart loop: between two runs, or in a run its live monitor will follow with another
      // (a short-lived command may end between our reads: that is still the loop)
      const inLoop = isRestarting(s) || (s.restartPolicy !== undefined && !s.stoppedByUser && s.monitorPid !== undefined && monitorAlive(s));
      if (!isUp(s) && !inLoop && !startingUnderMonitor(s)) throw new UsageError(`container ${ref} is not running`);
      const now = cancelsRestart(s, signal) ? await cancelRestarts(s) : startingUnderMonitor(s) ? await startedOrEnded(s) : s;
      // docker: a restarting container counts as running; the policy's end is all a kill does to it
      if (inLoop && (!now || !isUp(now))) {
        console.log(ref);
        continue;
      }
      if (!now || !isUp(now)) throw new UsageError(`container ${ref} is not running`);
      s = now;
      if (!signalProcess(s.pid, s.pidStartTime, signal)) {
        if (!inLoop) throw new UsageError(`container ${ref} is not running`);
        console.log(ref); // its run ended just now; the loop is what the kill ended
        continue;
      }
      emit("container", "kill", containerActor(s, { signal: signalNumber(signal) }));
      console.log(ref);
    }
  },
});
