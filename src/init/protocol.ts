// The conversation between the runtime (the parent) and the container's init, over fd 3 of the
// init (a socketpair). One JSON object a line, in this order:
//
//   parent -> init   orders     what to make: a new container (CreateOrders) or an exec (ExecOrders)
//   parent -> init   cgroup     with `cgroupLater`: the cgroup is made, and the files to join it
//   parent -> init   (one byte) with `networkLater`: the network is connected (NETWORK_READY)
//   init -> parent   terminal   only with process.terminal; carries the pty master (SCM_RIGHTS)
//   parent -> init   (one byte) the master is where it must be (our relay, or an engine's
//                               console socket): the init goes on, so that whoever sizes the
//                               terminal can do it before the command starts
//   init -> parent   ready      only with `execFifo` (OCI create): the container is made; the init
//                               parks until the FIFO is opened for reading (OCI start), writes one
//                               byte into it, and goes on; the parent is gone by then
//   init -> parent   exec       the privileges are set; execve(2) is the next call
//   init -> parent   error      a step failed: the reason and the exit code; the init exits
//
// fd 3 is close-on-exec: end of file right after `exec` means the command runs; end of file
// before `exec` or `error` means the init died before it reached the command (killed, or crashed).
import type { NamespaceType } from "../../ffi/namespaces";
import type { Spec } from "../spec";
import type { TraceEvent } from "../trace";

export const ORDERS_FD = 3;

/** Start a new container. */
export interface CreateOrders {
  id: string;
  spec: Spec;
  /** linux.seccomp compiled by the parent (base64 of the BPF program) and its seccomp(2) flags */
  seccomp?: string;
  seccompFlags?: number;
  /** OCI create: park before execve until this FIFO (a host path) is opened for reading */
  execFifo?: string;
  /** test-only: the step at which the init kills itself (MYDOCKER_FAULT=init:STEP) */
  fault?: string;
  /** --trace: record every step and send the record with `exec` (or `error`) */
  trace?: boolean;
  /** namespaces of the config the init was born in (the parent made them): not to be made again */
  bornIn?: NamespaceType[];
  /** v1: the `tasks` files the init's thread writes 0 into, first of all, to join its cgroup */
  joinCgroup?: string[];
  /**
   * v1: the parent makes the cgroup after sending these orders, while the init makes the root;
   * the init joins it once the next line on fd 3 (CgroupMade) names the files, before it mounts
   * the cgroup filesystems or makes device nodes, and makes the cgroup namespace then.
   */
  cgroupLater?: boolean;
  /**
   * The parent connects the init's network namespace (veth pair, address, route) after sending
   * these orders, while the init makes the root: before the terminal and the command, the init
   * waits for its one byte (NETWORK_READY) on fd 3.
   */
  networkLater?: boolean;
}

/** The byte that tells an init with `networkLater` that its network is connected. */
export const NETWORK_READY = 0x6e; // "n"
/** The line that tells an init with `cgroupLater` that its cgroup is made (sent before NETWORK_READY). */
export interface CgroupMade {
  /** the `tasks` files to write 0 into: of the hierarchies that were made (an optional one may not be) */
  joinCgroup: string[];
}

/** `exec`: the command, and the namespaces of the running container to join (/proc/PID/ns files). */
export interface ExecOrders {
  process: Spec["process"];
  namespaces: { type: NamespaceType; path: string }[];
  seccomp?: string;
  seccompFlags?: number;
  joinCgroup?: string[];
  fault?: string;
  trace?: boolean;
}

export type InitOrders = CreateOrders | { exec: ExecOrders };

/** What the init says. */
export type InitMessage =
  | { type: "terminal" }
  | { type: "ready"; trace?: TraceEvent[] }
  | { type: "exec"; trace?: TraceEvent[] }
  | { type: "error"; error: string; code: number; trace?: TraceEvent[] };

export const encode = (m: InitMessage | InitOrders | CgroupMade): Buffer => Buffer.from(JSON.stringify(m) + "\n");

/** Splits a stream of lines into messages; a line that is not one becomes an `error`. */
export function decodeLines(text: string): InitMessage[] {
  const out: InitMessage[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const m = JSON.parse(line) as InitMessage;
      out.push(typeof m?.type === "string" ? m : { type: "error", error: "init: unreadable message on fd 3", code: 125 });
    } catch {
      out.push({ type: "error", error: "init: unreadable message on fd 3", code: 125 });
    }
  }
  return out;
}

/** The fault the test suite asked for, as `init:STEP` in $MYDOCKER_FAULT of the parent. */
export function initFault(env = process.env.MYDOCKER_FAULT): string | undefined {
  return env?.startsWith("init:") ? env.slice(5) : undefined;
}
