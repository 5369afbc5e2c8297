// unshare(2) and setns(2), and the CLONE_NEW* flag of each namespace type.
import { close, open } from "./file";
import { FFIType, check, libc } from "./libc";

const sym = libc({
  unshare: { args: [FFIType.i32], returns: FFIType.i32 },
  setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
});

// <sched.h>
export const CLONE_FS = 0x200;
export const CLONE_NEWNS = 0x20000;
export const CLONE_NEWCGROUP = 0x2000000;
export const CLONE_NEWUTS = 0x4000000;
export const CLONE_NEWIPC = 0x8000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

/** OCI namespace type -> clone flag and the name of its file under /proc/PID/ns/. */
export const NAMESPACES = {
  mount: { flag: CLONE_NEWNS, file: "mnt" },
  uts: { flag: CLONE_NEWUTS, file: "uts" },
  ipc: { flag: CLONE_NEWIPC, file: "ipc" },
  network: { flag: CLONE_NEWNET, file: "net" },
  pid: { flag: CLONE_NEWPID, file: "pid_for_children" },
  cgroup: { flag: CLONE_NEWCGROUP, file: "cgroup" },
  user: { flag: CLONE_NEWUSER, file: "user" },
} as const;
export type NamespaceType = keyof typeof NAMESPACES;

/** unshare(2) on the calling thread only (namespaces belong to threads). */
export function unshare(flags: number): void {
  check("unshare", sym().unshare(flags));
}

export function setns(fd: number, nstype: number): void {
  check("setns", sym().setns(fd, nstype));
}

/**
 * Runs `fn` with the calling thread's children born into a PID namespace — a new one, or the one
 * at `join` (a /proc/PID/ns/pid file) — and, with `network`, a new network namespace; then returns
 * the thread to where it was. Only children move to the PID namespace: a process never changes
 * its own (pid_namespaces(7)). A thread left with a foreign pid_for_children breaks Bun: its next
 * spawn after that namespace's init exits fails with ENOMEM. unshare(CLONE_NEWNET) moves the
 * thread itself, so it goes back with setns(2) — allowed to one thread of many for a network
 * namespace (setns(2): only mount and user namespaces need a single-threaded caller).
 */
export function withChildNamespace<T>(type: "pid", fn: () => T, join?: string, network = false): T {
  const { flag, file } = NAMESPACES[type];
  const home = open(`/proc/thread-self/ns/${file}`, "r");
  const homeNet = network ? open("/proc/thread-self/ns/net", "r") : undefined;
  let movedPid = false;
  let movedNet = false;
  try {
    if (join === undefined) {
      unshare(flag | (network ? CLONE_NEWNET : 0));
      movedPid = true;
      movedNet = network;
    } else {
      const target = open(join, "r");
      try {
        setns(target, flag);
        movedPid = true;
      } finally {
        close(target);
      }
      if (network) {
        unshare(CLONE_NEWNET);
        movedNet = true;
      }
    }
    return fn();
  } finally {
    // each one back on its own: a failure of one must not leave the thread in the other
    try {
      if (movedPid) setns(home, flag);
    } finally {
      try {
        if (movedNet) setns(homeNet!, CLONE_NEWNET);
      } finally {
        close(home);
        if (homeNet !== undefined) close(homeNet);
      }
    }
  }
}

/**
 * Runs `fn` on this thread inside the network namespace at `path` (/proc/PID/ns/net), then comes
 * back: a socket made in `fn` belongs to that namespace for its whole life (network_namespaces(7)).
 */
export function inNetworkNamespace<T>(path: string, fn: () => T): T {
  const home = open("/proc/thread-self/ns/net", "r");
  try {
    const target = open(path, "r");
    try {
      setns(target, CLONE_NEWNET);
    } finally {
      close(target);
    }
    try {
      return fn();
    } finally {
      setns(home, CLONE_NEWNET);
    }
  } finally {
    close(home);
  }
}
