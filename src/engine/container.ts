// Starts one container from an OCI config and waits for it: cgroup, init process, orders,
// teardown. Free of CLI and state concerns: `run` (foreground), `mydocker monitor` (detached) and
// the OCI command line all come through here.
import { closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { NAMESPACES, withChildNamespace, type NamespaceType } from "../../ffi/namespaces";
import { setBlocking } from "../../ffi/process";
import type { SyscallError } from "../../ffi/errno";
import { pollIn } from "../../ffi/poll";
import { recvMessage } from "../../ffi/socket";
import { detectCgroupVersion, openCgroup, type Cgroup, type CgroupOptions } from "../cgroups";
import { decodeLines, encode, initFault, NETWORK_READY, type CgroupMade, type InitOrders } from "../init/protocol";
import { dataRoot } from "../paths";
import type { LinuxSeccomp, Spec } from "../spec";
import { INIT_ENV, selfCommand } from "./self";
import { addEvents, mark, now, step, tracing } from "../trace";
import { StartError, UsageError } from "../errors";
import { faultPoint } from "../fault";
export { StartError };

export type StdioPlan = ["inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe"];

export interface StartOptions {
  id: string;
  spec: Spec;
  /** stdin, stdout, stderr of the container's command */
  stdio: StdioPlan;
  /** where the cgroup goes, see openCgroup; its leaf is named after the container unless `id` says */
  cgroup: Omit<CgroupOptions, "id"> & { id?: string };
  /**
   * OCI create: the init makes the whole container, says `ready` and parks before execve until
   * someone opens this FIFO for reading (OCI start); startContainer returns at `ready`.
   */
  execFifo?: string;
  /** an existing PID namespace to start in (a /proc/PID/ns/pid file: podman's pods), else a new one */
  pidNamespace?: string;
  /** called with the pty master before the command may run (see awaitInit) */
  onTerminal?: (master: number) => void;
  /** the init is born in a new network namespace, which `afterOrders` connects (else it makes its own) */
  newNetworkNamespace?: boolean;
  /**
   * Called with the init's pid right after the spawn, while its Bun starts and before it gets
   * its orders: the caller's own preparation (its root's overlay, its /etc files: src/containers/
   * supervise.ts). A throw ends the start like any failed step.
   */
  beforeOrders?: (pid: number) => void;
  /**
   * Called with the init's pid right after its orders are sent, while it makes the root: the
   * caller connects its network namespace: address, ports, veth pair (the init waits for that,
   * `networkLater`, before its terminal and command). A throw ends the start like any failed step;
   * a UsageError (a port or address taken) is reported at once, as the user's answer.
   */
  afterOrders?: (pid: number) => void;
  /** an init spawned ahead (spawnInitEarly): used instead of a new one when it was spawned alike */
  early?: EarlyInit;
  /**
   * Called with the init's pid when it says it is made and execs the command next: the caller's
   * bookkeeping (the "running" record) overlaps the execve(2) of a Bun process, about 1.5 ms. A
   * throw ends the start like any failed step (the command, if it runs already, is killed).
   */
  onExec?: (pid: number) => void;
}

/**
 * An init spawned before its container is even recorded (`run` in the foreground: its Bun then
 * starts while we read the flags and write the record, ~4 ms off a start). It waits for orders on
 * fd 3; if none come (a bad flag, a name in use, a kill), it exits at the EOF, or at our SIGKILL
 * (abandonEarlyInit).
 */
export interface EarlyInit {
  init: StartedContainer["init"];
  stdio: StdioPlan;
  newNetworkNamespace: boolean;
  used: boolean;
}

export interface StartedContainer {
  id: string;
  rootfs: string;
  pid: number;
  init: Subprocess<"inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe", "inherit" | "ignore" | "pipe">;
  cgroup: Cgroup;
  /** the master of the command's pseudo-terminal (`process.terminal`), ours to close */
  terminal?: number;
}

export interface ContainerExit {
  /** the command's status; 128+N for a signal */
  exitCode: number;
  oomKilled: boolean;
}


/**
 * Spawns the init into a new PID namespace and, while its Bun starts (a few ms in which it only
 * waits for its orders), makes the rest: the seccomp filter, the caller's own preparation
 * (`beforeOrders`: its root, its /etc files); then sends the orders; then, while the init makes
 * the root, the cgroup (v1; on v2 it is made first: the init is born in it) and the caller's
 * `afterOrders` (its network); and returns once the init has exec'd the command (fd 3 closes on
 * execve). Throws StartError, leaving nothing behind, when any step fails.
 */
export function startContainer(opts: StartOptions): StartedContainer {
  const cgroup = openCgroup({ id: opts.id, ...opts.cgroup });
  const makeCgroup = () => step(`cgroup v${cgroup.version}: mkdir ${cgroup.path} and write its limits`, () => cgroup.create(opts.spec.linux.resources ?? {}));
  // v2: born in the cgroup (clone3 CLONE_INTO_CGROUP), so it must exist before the spawn. v1:
  // made after the orders went, while the init makes the root (it joins before the cgroup's
  // first use, see CreateOrders.cgroupLater) — unless it must join a cgroup namespace first.
  const bornInCgroup = cgroup.birthDir() !== undefined;
  const cgroupLater = !bornInCgroup && !opts.spec.linux.namespaces.some((n) => n.type === "cgroup" && n.path);
  if (bornInCgroup) makeCgroup();
  try {
    const ordersFor = (pid: number): InitOrders => {
      if (!bornInCgroup && !cgroupLater) makeCgroup();
      // The init gets the compiled filter, not the profile: it only loads it (seccomp(2)).
      const { seccomp, ...linux } = opts.spec.linux;
      const filter = step("seccomp: the profile's BPF (compiled once, then read from the cache)", () => compiledSeccomp(seccomp));
      opts.beforeOrders?.(pid);
      return {
        id: opts.id,
        spec: { ...opts.spec, linux },
        execFifo: opts.execFifo,
        ...filter,
        ...(cgroupLater ? { cgroupLater: true } : joinOrders(cgroup)),
        ...(opts.newNetworkNamespace ? { bornIn: ["network" as const] } : {}),
        ...(opts.afterOrders ? { networkLater: true } : {}),
        ...(tracing() ? { trace: true } : {}),
      };
    };
    const early = usableEarlyInit(opts, bornInCgroup);
    const afterOrders: AfterOrders[] = [
      ...(cgroupLater ? [{ make: makeCgroup, ready: () => encode({ joinCgroup: cgroup.selfJoinFiles() ?? [] } satisfies CgroupMade) }] : []),
      ...(opts.afterOrders ? [{ make: opts.afterOrders, ready: () => Buffer.from([NETWORK_READY]), mayWaitForInit: true }] : []),
    ];
    const { init, terminal } = launchInit(opts.stdio, cgroup, ordersFor, {
      pidNamespace: opts.pidNamespace,
      until: opts.execFifo ? "ready" : "exec",
      onTerminal: opts.onTerminal,
      newNetworkNamespace: opts.newNetworkNamespace,
      early,
      afterOrders,
      onExec: opts.onExec,
    });
    return { id: opts.id, rootfs: opts.spec.root.path, pid: init.pid, init, cgroup, terminal };
  } catch (e) {
    teardown({ id: opts.id, rootfs: opts.spec.root.path, cgroup });
    throw e;
  }
}

/** The early init when it was spawned as this start would spawn one; else it is ended here. */
function usableEarlyInit(opts: StartOptions, bornInCgroup: boolean): StartedContainer["init"] | undefined {
  const early = opts.early;
  if (!early || early.used) return undefined;
  const alike = !bornInCgroup && opts.pidNamespace === undefined && early.newNetworkNamespace === (opts.newNetworkNamespace ?? false) && early.stdio.join() === opts.stdio.join();
  if (alike) {
    early.used = true;
    return early.init;
  }
  abandonEarlyInit(early); // (its fd 3 closed too: a monitor lives as long as its container)
  return undefined;
}

/**
 * Spawns `mydocker init` now, in a new PID (and, with `newNetworkNamespace`, network)
 * namespace, for a start that comes later: see EarlyInit. Undefined where the init must be born
 * in its cgroup (v2: the cgroup is made first, and needs the recorded container).
 */
export function spawnInitEarly(stdio: StdioPlan, newNetworkNamespace: boolean): EarlyInit | undefined {
  if (detectCgroupVersion() === 2) return undefined;
  return { init: spawnInit(stdio, undefined, newNetworkNamespace), stdio, newNetworkNamespace, used: false };
}

/** An early init that no start took (the run failed before it): ended, so nothing is left. */
export function abandonEarlyInit(early: EarlyInit | undefined): void {
  if (!early || early.used) return;
  early.used = true;
  early.init.kill("SIGKILL");
  closeSync(early.init.stdio[3] as unknown as number);
}

/**
 * v1: the files the init's thread writes `0` into, right after reading its orders, to join the
 * container's cgroup by itself. (Moving a whole Bun process in, cgroup.procs, takes the kernel's
 * threadgroup lock for writing — an RCU grace period, and Bun's start-up, which creates threads,
 * waits on it: measured 9-18 ms here. One thread joining takes ~0.2 ms; the init's other threads
 * end at execve.) v2: nothing, the init was born there.
 */
const joinOrders = (cgroup: Cgroup): { joinCgroup?: string[] } => {
  const files = cgroup.selfJoinFiles();
  return files?.length ? { joinCgroup: files } : {};
};

export interface ExecOptions {
  /** the container's init, as the host sees it */
  pid: number;
  cgroup: Cgroup;
  process: Spec["process"];
  namespaces: NamespaceType[];
  /** the container's seccomp config: an exec'd process gets the same filter */
  seccomp?: LinuxSeccomp;
  stdio: StdioPlan;
  /** called with the pty master before the command may run (see awaitInit) */
  onTerminal?: (master: number) => void;
}

export interface Launched {
  init: StartedContainer["init"];
  /** the master of the command's pseudo-terminal, when it asked for one (ours to close) */
  terminal?: number;
}

/** Runs a process in a running container: its namespaces, its cgroup, its root. */
export function execInContainer(opts: ExecOptions): Launched {
  const joined = opts.namespaces.filter((t) => t !== "pid").map((type) => ({ type, path: `/proc/${opts.pid}/ns/${NAMESPACES[type].file}` }));
  // the orders (the seccomp program read from its cache, the cgroup to join) are made while the
  // init's Bun starts
  const orders = () => ({ exec: { process: opts.process, namespaces: joined, ...step("seccomp: the profile's BPF (from the cache)", () => compiledSeccomp(opts.seccomp)), ...joinOrders(opts.cgroup), ...(tracing() ? { trace: true } : {}) } });
  return launchInit(opts.stdio, opts.cgroup, orders, { pidNamespace: `/proc/${opts.pid}/ns/pid`, onTerminal: opts.onTerminal });
}

/** linux.seccomp as a BPF program (base64) and seccomp(2) flags for the init; compiled once per profile, then cached. */
function compiledSeccomp(seccomp: LinuxSeccomp | undefined): { seccomp?: string; seccompFlags?: number } {
  if (!seccomp) return {};
  const { seccompProgram, seccompLoadFlags } = require("../security/seccomp") as typeof import("../security/seccomp");
  try {
    return { seccomp: seccompProgram(seccomp, join(dataRoot(), "seccomp")).toString("base64"), seccompFlags: seccompLoadFlags(seccomp) };
  } catch (e) {
    throw new StartError((e as Error).message, 125);
  }
}

/**
 * What the parent makes after the orders went, while the init makes the root, each followed by
 * what the init waits for (`ready`: a line, or one byte). `mayWaitForInit`: the step works on the
 * init's own namespace, so an init that died meanwhile explains the failure better than the
 * step's error.
 */
interface AfterOrders {
  make: (pid: number) => void;
  ready: () => Uint8Array;
  mayWaitForInit?: boolean;
}

interface LaunchOptions {
  pidNamespace?: string;
  until?: "exec" | "ready";
  onTerminal?: (master: number) => void;
  newNetworkNamespace?: boolean;
  early?: StartedContainer["init"];
  afterOrders?: AfterOrders[];
  onExec?: (pid: number) => void;
}

/**
 * Spawns `mydocker init` as a child in a PID namespace (new, or the one at `pidNamespace`; with
 * `newNetworkNamespace` a new network namespace too), makes its orders while it starts, sends
 * them and waits until it has exec'd the command (or, `until` "ready", has made the container
 * and parked). The init joins the cgroup (v1) before its cgroup filesystems, device nodes and
 * command, as soon as `afterOrders` said it is made (CgroupMade), or an exec's before anything
 * (v2: it is born there).
 */
function launchInit(
  stdio: StdioPlan, cgroup: Cgroup, ordersFor: (pid: number) => InitOrders,
  { pidNamespace, until = "exec", onTerminal, newNetworkNamespace = false, early, afterOrders = [], onExec }: LaunchOptions,
): Launched {
  const init = early ?? spawnInit(stdio, pidNamespace, newNetworkNamespace, cgroup.birthDir());
  const ordersFd = init.stdio[3] as unknown as number;
  try {
    const orders = ordersFor(init.pid); // while the init's Bun starts
    setBlocking(ordersFd);
    step("the orders to the init (fd 3)", () => sendOrders(ordersFd, orders));
    faultPoint("start:after-orders");
    for (const after of afterOrders) {
      try {
        after.make(init.pid); // while the init makes the root
      } catch (e) {
        // A request that cannot be met (a port or address taken, a network removed meanwhile)
        // is the user's answer, whatever the init does: at once, without waiting for it.
        if (e instanceof UsageError || !after.mayWaitForInit) throw e;
        // An init that died meanwhile took its namespace with it: its own report comes first.
        // (Its main thread may drop its namespaces before the last of its threads closes the
        // shared fd table, so fd 3 may need a moment to read as closed: our own failures wait.)
        if (pollIn(ordersFd, 200) === 0) throw e;
        const { failure } = awaitInit(ordersFd, until);
        throw failure ? new StartError(failure.error, failure.code) : e;
      }
      sendBytes(ordersFd, after.ready());
    }
    const waiting = now();
    const { failure, terminal } = awaitInit(ordersFd, until, onTerminal, onExec && (() => onExec(init.pid)));
    mark(`wait: the init makes the container${until === "ready" ? " and parks" : " and execs the command"}`, waiting);
    if (failure) {
      if (terminal !== undefined) closeSync(terminal);
      throw new StartError(failure.error, failure.code);
    }
    return { init, terminal };
  } catch (e) {
    init.kill("SIGKILL");
    throw e instanceof StartError ? e : new StartError((e as Error).message, 125);
  } finally {
    closeSync(ordersFd);
  }
}

/** `mydocker init` in a new PID namespace (or the one at `pidNamespace`), fd 3 its orders socket. */
function spawnInit(stdio: StdioPlan, pidNamespace: string | undefined, newNetworkNamespace: boolean, birth?: string): StartedContainer["init"] {
  return withChildNamespace(
    "pid",
    () =>
      step(`spawn \`mydocker init\` (Bun.spawn: vfork + exec${birth ? ", into its cgroup" : ""}${newNetworkNamespace ? ", in a new network namespace" : ""})`, () =>
        Bun.spawn(selfCommand("init"), { stdio: [...stdio, "pipe"], env: INIT_ENV, ...(birth ? { cgroup: birth } : {}) }),
      ),
    pidNamespace,
    newNetworkNamespace,
  ) as StartedContainer["init"];
}

/** Waits for the container's PID 1 to exit (its namespace dies with it). */
export async function waitForExit(c: StartedContainer): Promise<ContainerExit> {
  const exitCode = await c.init.exited;
  return { exitCode, oomKilled: exitCode === 137 && c.cgroup.oomKilled() };
}

/** Removes what the container used on the host. Idempotent. */
export function teardown(c: { id: string; rootfs: string; cgroup: Cgroup }): void {
  c.cgroup.destroy();
}

function sendOrders(fd: number, orders: InitOrders): void {
  sendBytes(fd, encode({ ...orders, ...faultOrders(orders) }));
}

/** All of `data` to the init's fd 3; an init that died meanwhile is seen by awaitInit. */
function sendBytes(fd: number, data: Uint8Array): void {
  let off = 0;
  try {
    while (off < data.length) off += writeSync(fd, data, off);
  } catch {
    // The init died before reading: awaitInit sees it.
  }
}

/** Test-only: $MYDOCKER_FAULT=init:STEP travels in the orders (the init has a clean environment). */
function faultOrders(orders: InitOrders): object {
  const fault = initFault();
  if (!fault) return {};
  return "exec" in orders ? { exec: { ...orders.exec, fault } } : { fault };
}

/**
 * Blocks until the init has exec'd the command (or said `ready`, when parked), or failed, or
 * died; see src/init/protocol.ts. On the way it may send the master of the command's terminal
 * (SCM_RIGHTS); it then waits for one byte from us, written once `onTerminal` has handed the master
 * on, so that whoever keeps the window size (conmon, over --console-socket) has it before the
 * command reads it. `onExec` runs once the init said `exec`, while its execve is under way. All
 * of this happens within milliseconds of the orders.
 */
function awaitInit(fd: number, until: "exec" | "ready", onTerminal?: (master: number) => void, onExec?: () => void): { failure?: { error: string; code: number }; terminal?: number } {
  let text = "";
  let terminal: number | undefined;
  let reached = false;
  let traced = false;
  for (;;) {
    let msg;
    try {
      msg = recvMessage(fd);
    } catch (e) {
      // ECONNRESET: the init died with bytes of ours unread (unix(7) stream sockets): its end
      if ((e as SyscallError).code !== "ECONNRESET") return { failure: { error: `init: ${(e as Error).message}`, code: 125 }, terminal };
      break;
    }
    if (msg.fd !== undefined) {
      terminal = msg.fd;
      try {
        onTerminal?.(terminal);
      } catch (e) {
        closeSync(terminal);
        throw e;
      }
      writeSync(fd, "\n"); // the init goes on
    }
    if (msg.data.length === 0) break;
    text += msg.data.toString();
    const messages = decodeLines(text.slice(0, text.lastIndexOf("\n") + 1));
    for (const m of messages) if ((m.type === "exec" || m.type === "error" || m.type === "ready") && m.trace && !traced) (traced = true), addEvents(m.trace);
    const error = messages.find((m) => m.type === "error");
    if (error?.type === "error") return { failure: { error: error.error, code: error.code }, terminal };
    const wasReached = reached;
    reached = messages.some((m) => m.type === until);
    if (reached && until === "ready") return { terminal }; // parked: the init keeps fd 3 open
    if (reached && !wasReached && onExec) {
      // the init's execve is under way (fd 3 closes when it succeeds): the caller's work meanwhile
      try {
        onExec();
      } catch (e) {
        if (terminal !== undefined) closeSync(terminal);
        throw e;
      }
    }
  }
  if (reached) return { terminal };
  return { failure: { error: "init: died before it ran the command (killed?)", code: 125 }, terminal };
}
