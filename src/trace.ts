// `--trace`: every kernel-facing step of a container start, in order, with the process that made
// it, the call as a person would write it, its result, and its time — printed to stderr once the
// container has ended (a table, or JSON lines with --trace=json). The libc calls are recorded by
// ffi/libc.ts (recordCalls); the steps that are not libc calls (Bun's own start-up, cgroup files,
// waits) are marked here. Nothing is recorded, and nothing costs, when --trace is off.
import { errnoName } from "../ffi/errno";
import { recordCalls } from "../ffi/libc";

export interface TraceEvent {
  who: "parent" | "init";
  /** the call, formatted (`pivot_root(".", ".")`), or a step that is not one call (`wait: exec`) */
  what: string;
  /** "0", a return value, an errno name, or a duration's note */
  result: string;
  /** epoch milliseconds (with microseconds) */
  start: number;
  end: number;
}

const events: TraceEvent[] = [];
let who: TraceEvent["who"] = "parent";
let on = false;

export const tracing = () => on;

/** Starts recording for this process (`parent` or `init`). */
export function startTrace(as: TraceEvent["who"]): void {
  on = true;
  who = as;
  recordCalls((name, args, rc, errno, start, end) => {
    events.push({ who, what: formatCall(name, args), result: errno === undefined ? String(rc) : errnoName(errno), start, end });
  });
}

/** A step that is not one libc call: from `start` to `end` (epoch ms; default now). */
export function mark(what: string, start: number, result = "", end = now()): void {
  if (on) events.push({ who, what, result, start, end });
}

/** Runs `fn` as a marked step when tracing. */
export function step<T>(what: string, fn: () => T): T {
  if (!on) return fn();
  const start = now();
  try {
    return fn();
  } finally {
    mark(what, start);
  }
}

export const now = () => performance.timeOrigin + performance.now();

/** This process's events (the init sends them to the parent with its `exec` message). */
export const traceEvents = (): TraceEvent[] => events;
export const addEvents = (more: TraceEvent[]) => void events.push(...more);

/** The table (or JSON lines) of every event, times in µs from `origin` (the first process's start). */
export function renderTrace(format: "table" | "json", origin = performance.timeOrigin): string {
  const rows = [...events].sort((a, b) => a.start - b.start);
  const us = (t: number) => Math.round((t - origin) * 1000);
  if (format === "json") return rows.map((e) => JSON.stringify({ who: e.who, what: e.what, result: e.result, startUs: us(e.start), durationUs: Math.round((e.end - e.start) * 1000) })).join("\n") + "\n";
  const lines = rows.map((e) => [String(us(e.start)).padStart(8), String(Math.round((e.end - e.start) * 1000)).padStart(7), e.who.padEnd(6), e.what, e.result ? `= ${e.result}` : ""]);
  const header = ["   at µs", "took µs", "who   ", "step", ""];
  return [header, ...lines].map((l) => `${l[0]}  ${l[1]}  ${l[2]}  ${l[3]} ${l[4]}`.trimEnd()).join("\n") + "\n";
}

// ---------------------------------------------------------------- formatting calls

const MS: [number, string][] = [
  [0x1, "MS_RDONLY"], [0x2, "MS_NOSUID"], [0x4, "MS_NODEV"], [0x8, "MS_NOEXEC"], [0x20, "MS_REMOUNT"], [0x400, "MS_NOATIME"],
  [0x800, "MS_NODIRATIME"], [0x1000, "MS_BIND"], [0x2000, "MS_MOVE"], [0x4000, "MS_REC"], [0x8000, "MS_SILENT"], [0x20000, "MS_UNBINDABLE"],
  [0x40000, "MS_PRIVATE"], [0x80000, "MS_SLAVE"], [0x100000, "MS_SHARED"], [0x200000, "MS_RELATIME"], [0x1000000, "MS_STRICTATIME"],
];
const CLONE: [number, string][] = [
  [0x200, "CLONE_FS"], [0x20000, "CLONE_NEWNS"], [0x2000000, "CLONE_NEWCGROUP"], [0x4000000, "CLONE_NEWUTS"], [0x8000000, "CLONE_NEWIPC"],
  [0x10000000, "CLONE_NEWUSER"], [0x20000000, "CLONE_NEWPID"], [0x40000000, "CLONE_NEWNET"],
];
const PRCTL: Record<number, string> = { 4: "PR_SET_DUMPABLE", 8: "PR_SET_KEEPCAPS", 23: "PR_CAPBSET_READ", 24: "PR_CAPBSET_DROP", 38: "PR_SET_NO_NEW_PRIVS", 47: "PR_CAP_AMBIENT" };
const RLIMIT = ["RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS"];
// x86_64 numbers of the calls made through syscall(2)
const SYSCALLS: Record<number, string> = { 116: "setgroups", 117: "setresuid", 119: "setresgid", 126: "capset", 155: "pivot_root", 317: "seccomp", 321: "bpf", 428: "open_tree", 429: "move_mount", 437: "openat2", 442: "mount_setattr" };

function flags(n: unknown, table: [number, string][]): string {
  let v = Number(n);
  if (v === 0) return "0";
  const names: string[] = [];
  for (const [bit, name] of table) if (v & bit) (names.push(name), (v &= ~bit));
  if (v) names.push(`0x${v.toString(16)}`);
  return names.join("|");
}

/** A C string argument (a NUL-terminated Buffer) as text; other buffers and pointers as `…`. */
function arg(a: unknown): string {
  if (a === null || a === undefined) return "NULL";
  if (a instanceof Uint8Array) {
    const nul = a.indexOf(0);
    const text = Buffer.from(a.subarray(0, nul < 0 ? a.length : nul)).toString();
    return nul === a.length - 1 && /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : "…";
  }
  if (typeof a === "bigint") return a.toString();
  return String(a);
}

export function formatCall(name: string, args: unknown[]): string {
  const a = args.map(arg);
  switch (name) {
    case "mount":
      return `mount(${a[0]}, ${a[1]}, ${a[2]}, ${flags(args[3], MS)}${args[4] ? `, ${a[4]}` : ""})`;
    case "umount2":
      return `umount2(${a[0]}, ${Number(args[1]) === 2 ? "MNT_DETACH" : a[1]})`;
    case "unshare":
      return `unshare(${flags(args[0], CLONE)})`;
    case "setns":
      return `setns(${a[0]}, ${flags(args[1], CLONE)})`;
    case "prctl":
      return `prctl(${PRCTL[Number(args[0])] ?? a[0]}, ${a[1]})`;
    case "prlimit":
      return `setrlimit(${RLIMIT[Number(args[1])] ?? a[1]})`;
    case "umask":
      return `umask(0${Number(args[0]).toString(8)})`;
    case "mknod": {
      const mode = Number(args[1]);
      const type = (mode & 0o170000) === 0o020000 ? "S_IFCHR" : (mode & 0o170000) === 0o060000 ? "S_IFBLK" : (mode & 0o170000) === 0o010000 ? "S_IFIFO" : "0";
      const dev = BigInt(args[2] as bigint);
      return `mknod(${a[0]}, ${type}|0${(mode & 0o7777).toString(8)}, makedev(${Number((dev >> 8n) & 0xfffn)}, ${Number(dev & 0xffn)}))`;
    }
    case "sethostname":
    case "setdomainname":
      return `${name}(${arg(Buffer.concat([args[0] as Buffer, Buffer.from([0])]))})`;
    case "execve":
      return `execve(${a[0]}, …)`;
    case "syscall": {
      const call = SYSCALLS[Number(args[0])] ?? `syscall ${a[0]}`;
      return `${call}(${a.slice(1).join(", ")})`;
    }
    default:
      return `${name}(${a.join(", ")})`;
  }
}
