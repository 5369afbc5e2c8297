// Runs one container from an OCI config: cgroup, init process, orders, wait, teardown.
// Free of CLI concerns: the docker-like `run` and the OCI command line both come through here.
import { readSync, writeSync, closeSync } from "node:fs";
import { withChildNamespace } from "../../ffi/namespaces";
import { openCgroup, type Cgroup } from "../cgroups";
import type { InitFailure, InitOrders } from "../init/init";
import type { Spec } from "../spec";
import { CLEAN_ENV, selfCommand } from "./self";

export interface RunOptions {
  id: string;
  spec: Spec;
  /** attach our stdin to the container (docker -i); otherwise it reads /dev/null */
  interactive?: boolean;
  /** --cgroup-parent */
  cgroupParent?: string;
}

export interface ContainerExit {
  /** the command's status; 128+N for a signal; 125/126/127 when the init failed */
  exitCode: number;
  oomKilled: boolean;
  /** set when the container never ran its command */
  initError?: string;
}

/** Signals that `mydocker run` passes on to the container instead of dying of them. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

export async function runContainer(opts: RunOptions): Promise<ContainerExit> {
  const cgroup = openCgroup({ id: opts.id, parent: opts.cgroupParent ?? opts.spec.linux.cgroupsPath });
  cgroup.create(opts.spec.linux.resources ?? {});
  let init: ReturnType<typeof spawnInit> | undefined;
  const forward = FORWARDED.map((sig) => [sig, () => init?.kill(sig)] as const);
  for (const [sig, fn] of forward) process.on(sig, fn);
  try {
    // The init waits on fd 3 for its orders, sent only once it is in the cgroup: limits hold
    // from its first instruction.
    init = spawnInit(opts.interactive ?? false);
    const ordersFd = init.stdio[3] as unknown as number;
    try {
      cgroup.addProcess(init.pid);
      sendOrders(ordersFd, { id: opts.id, spec: opts.spec });
      const status = await init.exited;
      const failure = readFailure(ordersFd);
      if (failure) return { exitCode: failure.code, oomKilled: false, initError: failure.error };
      return { exitCode: status, oomKilled: status === 137 && cgroup.oomKilled() };
    } finally {
      closeSync(ordersFd);
    }
  } finally {
    for (const [sig, fn] of forward) process.off(sig, fn);
    if (init && init.exitCode === null && init.signalCode === null) {
      init.kill("SIGKILL");
      await init.exited;
    }
    cgroup.destroy();
  }
}

/** Starts `mydocker init` as PID 1 of a new PID namespace, with a socket on its fd 3. */
function spawnInit(interactive: boolean) {
  return withChildNamespace("pid", () =>
    Bun.spawn(selfCommand("init"), {
      stdio: [interactive ? "inherit" : "ignore", "inherit", "inherit", "pipe"],
      env: CLEAN_ENV,
    }),
  );
}

function sendOrders(fd: number, orders: InitOrders): void {
  const data = Buffer.from(JSON.stringify(orders) + "\n");
  let off = 0;
  try {
    while (off < data.length) off += writeSync(fd, data, off);
  } catch {
    // The init died before reading: its exit status tells why.
  }
}

/** After the init exits: a failure line if it never reached execve, else nothing (fd closed on exec). */
function readFailure(fd: number): InitFailure | undefined {
  const buf = Buffer.alloc(64 * 1024);
  let n = 0;
  try {
    n = readSync(fd, buf);
  } catch {
    return undefined;
  }
  if (n === 0) return undefined;
  try {
    return JSON.parse(buf.subarray(0, n).toString()) as InitFailure;
  } catch {
    return undefined;
  }
}
