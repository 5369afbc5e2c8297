// The OCI runtime commands (runtime-spec runtime.md "Operations", runc's command line), on the same
// engine as `mydocker run`: create parks the init before execve, start releases it; no process of
// ours stays behind (the caller's subreaper — conmon, a containerd shim — reaps the init).
import { closeSync, existsSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { S_IFIFO, mknod } from "../../ffi/fs";
import { pollIn, POLLHUP } from "../../ffi/poll";
import { connectUnix, sendFd } from "../../ffi/socket";
import { close as closeFd } from "../../ffi/tty";
import { openCgroup, type Cgroup } from "../cgroups";
import { execInContainer, startContainer, StartError, type Launched, type StdioPlan } from "../engine/container";
import { writeFileAtomic } from "../fsutil";
import { decodeLines } from "../init/protocol";
import { applySecurity } from "../security/defaults";
import { buildSpec, type Spec } from "../spec";
import { bootId, processStartTime, signalProcess } from "../state/proc";
import { loadBundle, ociResources, type Hooks } from "./bundle";
import { str, type FlagDef, type Flags } from "./flags";
import { runHooks } from "./hooks";
import { addEvents, mark, now, step, tracing, type TraceEvent } from "../trace";
import { traced, traceFlag } from "./trace";
import {
  checkId, fifoPath, initAlive, listIds, OCI_VERSION, OciError, readRecord, readSpec, recordDir, removeRecord, requireRecord,
  reserve, stateJson, statusOf, writeRecord, type OciRecord, type OciStatus,
} from "./store";

export interface Context {
  warn(msg: string): void;
  debug(msg: string): void;
}

type Command = { flags: Record<string, FlagDef>; run(f: Flags, args: string[], ctx: Context): Promise<number> | number };

const cgroupOf = (rec: OciRecord): Cgroup => openCgroup({ id: rec.cgroup.id, parent: rec.cgroup.parent, selfCgroup: rec.cgroup.selfCgroup });
const statusNow = (rec: OciRecord): OciStatus => statusOf(rec, () => frozen(rec));
const hooksOf = (id: string): Hooks => step("read hooks.json (the bundle's hooks)", () => readHooks(id));
const readHooks = (id: string): Hooks => {
  try {
    return JSON.parse(readFileSync(join(recordDir(id), "hooks.json"), "utf8")) as Hooks;
  } catch {
    return {};
  }
};

function frozen(rec: OciRecord): boolean {
  try {
    const cg = cgroupOf(rec);
    const text = readFileSync(cg.file(cg.version === 2 ? "cgroup.freeze" : "freezer.state"), "utf8").trim();
    return text === "1" || text === "FROZEN";
  } catch {
    return false;
  }
}

function one(args: string[], command: string, usage = "<container-id>"): string {
  if (args.length !== 1) throw new OciError(`${command}: expects exactly one argument: ${usage}`);
  return checkId(args[0]);
}

function writePidFile(path: string | undefined, pid: number): void {
  if (path) writeFileAtomic(resolve(path), String(pid), 0o644);
}

/**
 * With process.terminal: what hands the pty master to the caller (conmon, the shim) over
 * `--console-socket` (SCM_RIGHTS), called by the engine before the command may run — conmon sets
 * the window size on it, and `stty size` in an `exec -it` must see it (it did not when the master
 * went over only after the command ran).
 */
function consoleSender(socket: string | undefined, terminal: boolean): ((master: number) => void) | undefined {
  if (!terminal) return undefined;
  if (!socket) throw new OciError("process.terminal needs --console-socket");
  return (master) => {
    const sock = connectUnix(socket);
    try {
      sendFd(sock, master, Buffer.from("/dev/ptmx"));
    } finally {
      closeFd(sock);
    }
  };
}

/** Our copy of the master, once it went over the console socket. */
function closeConsole(master: number | undefined, terminal: boolean): void {
  if (master !== undefined) closeFd(master);
  else if (terminal) throw new OciError("the init sent no terminal");
}

// ---------------------------------------------------------------- create / start / run

const createFlags: Record<string, FlagDef> = {
  bundle: { alias: "b", value: true },
  "pid-file": { value: true },
  "console-socket": { value: true },
  "no-pivot": {},
  "no-new-keyring": {},
  "preserve-fds": { value: true },
};

/** The container, made and parked before execve; its init outlives us. */
function create(f: Flags, id: string, ctx: Context): { rec: OciRecord; launched: Launched } {
  const bundleDir = resolve(str(f, "bundle") ?? ".");
  if (f["no-pivot"]) ctx.debug("--no-pivot: pivot_root is used all the same");
  if (str(f, "preserve-fds") && str(f, "preserve-fds") !== "0") throw new OciError("--preserve-fds is not supported");
  const bundle = step(`read the bundle: ${join(bundleDir, "config.json")}`, () => loadBundle(bundleDir, id));
  for (const w of bundle.warnings) ctx.warn(w);
  step(`mkdir the container's record: ${recordDir(id)}`, () => reserve(id));
  try {
    const selfCgroup = readFileSync("/proc/self/cgroup", "utf8");
    const rec: OciRecord = {
      id, pid: 0, bootId: bootId(), bundle: bundleDir, rootfs: bundle.spec.root.path, created: new Date().toISOString(), owner: "",
      annotations: bundle.annotations, cgroup: { ...bundle.cgroup, selfCgroup },
    };
    mknod(fifoPath(id), S_IFIFO | 0o600);
    step("write the record: config.json, state.json, hooks.json", () => {
      writeRecord(rec, bundle.spec);
      writeFileSync(join(recordDir(id), "hooks.json"), JSON.stringify(bundle.hooks), { mode: 0o600 });
    });
    const stdio: StdioPlan = ["inherit", "inherit", "inherit"];
    const terminal = bundle.spec.process.terminal === true;
    const started = startContainer({
      id, spec: bundle.spec, stdio, cgroup: { id: bundle.cgroup.id, parent: bundle.cgroup.parent, selfCgroup },
      execFifo: fifoPath(id), pidNamespace: bundle.pidNamespace, onTerminal: consoleSender(str(f, "console-socket"), terminal),
    });
    step("write the record: state.json (the init's pid, status created)", () => {
      Object.assign(rec, { pid: started.pid, pidStartTime: processStartTime(started.pid) });
      writeRecord(rec);
    });
    try {
      closeConsole(started.terminal, terminal);
      const state = stateJson(rec, "created");
      for (const kind of ["prestart", "createRuntime", "createContainer"] as const) hook(bundle.hooks, kind, state, ctx);
    } catch (e) {
      cgroupOf(rec).destroy(); // ends the parked init
      throw e;
    }
    if (str(f, "pid-file")) step(`write the pid file: ${resolve(str(f, "pid-file")!)}`, () => writePidFile(str(f, "pid-file"), started.pid));
    return { rec, launched: started };
  } catch (e) {
    removeRecord(id);
    throw e instanceof StartError ? new OciError(e.message) : e;
  }
}

/** Releases a created container: opens its FIFO, whose writer (the parked init) then execs. */
async function start(id: string, ctx: Context): Promise<void> {
  const began = now();
  const { rec, status } = step("read the record; the status (is the init parked?)", () => {
    const rec = requireRecord(id);
    return { rec, status: statusNow(rec) };
  });
  if (status !== "created") throw new OciError(`cannot start a container that is ${status === "stopped" ? "stopped" : `already ${status}`}: ${id}`);
  const hooks = hooksOf(id);
  hook(hooks, "startContainer", stateJson(rec, "created"), ctx);
  const O_NONBLOCK = 0o4000;
  let opened = now();
  const fd = openSync(fifoPath(id), 0 | O_NONBLOCK); // O_RDONLY: never blocks, even without a writer (fifo(7))
  mark(`open(${JSON.stringify(fifoPath(id))}, O_RDONLY|O_NONBLOCK)`, opened, String(fd));
  opened = now();
  let text = "";
  try {
    const buf = Buffer.alloc(4096);
    let released = false;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
        n = -1; // the init holds the FIFO but has not written: wait
      }
      if (n > 0) {
        text += buf.subarray(0, n).toString();
        if (!released) {
          released = true;
          mark("wait: the parked init opens the FIFO for writing and writes its byte (fifo(7))", opened);
          step(`unlink(${JSON.stringify(fifoPath(id))}): the status is running from now on`, () => unlinkSync(fifoPath(id)));
          opened = now();
        }
        continue;
      }
      // end of file: before the init's byte, no writer yet (keep waiting while it lives);
      // after it, the init closed the FIFO at execve (or died)
      if (n === 0 && released) {
        mark("wait: the init sets its privileges and execs the command (end of file: the FIFO is close-on-exec)", opened);
        break;
      }
      if (!initAlive(rec)) throw new OciError(`container ${id}: its init died before it was started`);
      // until the init writes or closes its end (no sleep-and-retry: each millisecond of that is
      // the start's); a FIFO hung up without the byte (the init died) is waited on as before
      if (pollIn(fd, 100) & POLLHUP && !released) await Bun.sleep(1);
    }
  } finally {
    closeSync(fd);
  }
  const messages = decodeLines(text.slice(1));
  if (tracing()) addEvents(initStepsSince(messages, began));
  const error = messages.find((m) => m.type === "error");
  if (error?.type === "error") throw new OciError(error.error);
  hook(hooks, "poststart", stateJson(rec, "running"), ctx);
}

/**
 * The init's own steps after it was released (rlimits, capabilities, seccomp, execve), which it
 * writes into the FIFO before execve when its `create` was traced; its earlier steps were
 * `create`'s, so only those after `since` (this start began) are kept.
 */
function initStepsSince(messages: ReturnType<typeof decodeLines>, since: number): TraceEvent[] {
  const m = messages.find((m) => (m.type === "exec" || m.type === "error") && m.trace);
  return m && (m.type === "exec" || m.type === "error") ? (m.trace ?? []).filter((e) => e.start >= since) : [];
}

/** One kind of hook of the bundle, marked as a step when there is any. */
function hook(hooks: Hooks, kind: keyof Hooks, state: object, ctx: Context): void {
  if (!hooks[kind]?.length) return;
  step(`hooks: ${kind} (${hooks[kind]!.length})`, () => runHooks(hooks, kind, state, ctx.warn));
}

/** `run`: create and start in one process; in the foreground, wait for the command and delete. */
async function runContainer(f: Flags, args: string[], ctx: Context): Promise<number> {
  const id = one(args, "run");
  const { rec, launched } = create(f, id, ctx);
  try {
    await start(id, ctx);
  } catch (e) {
    deleteContainer(rec, true, ctx);
    throw e;
  }
  if (f.detach) {
    launched.init.unref();
    return 0;
  }
  const running = now();
  const code = await launched.init.exited;
  mark("wait: the command runs until it exits", running, `exit ${code}`);
  if (!f.keep) step("delete: the cgroup, the record", () => deleteContainer(requireRecord(id), true, ctx));
  return code;
}

// ---------------------------------------------------------------- the commands

export const COMMANDS: Record<string, Command> = {
  create: {
    flags: { ...createFlags, ...traceFlag },
    run: (f, args, ctx) =>
      traced(f, () => {
        create(f, one(args, "create"), ctx).launched.init.unref();
        return 0;
      }),
  },

  start: {
    flags: traceFlag,
    run: (f, args, ctx) =>
      traced(f, async () => {
        await start(one(args, "start"), ctx);
        return 0;
      }),
  },

  run: {
    flags: { ...createFlags, detach: { alias: "d" }, "keep": {}, ...traceFlag },
    run: (f, args, ctx) => traced(f, () => runContainer(f, args, ctx)),
  },

  state: {
    flags: {},
    run(_f, args) {
      const rec = requireRecord(one(args, "state"));
      console.log(JSON.stringify(stateJson(rec, statusNow(rec)), null, 2));
      return 0;
    },
  },

  kill: {
    flags: { all: { alias: "a" } },
    run(f, args) {
      if (args.length < 1 || args.length > 2) throw new OciError("kill: expects <container-id> [signal]");
      const rec = requireRecord(checkId(args[0]));
      const signal = parseSignal(args[1] ?? "SIGTERM");
      const status = statusNow(rec);
      if (status === "stopped" || status === "creating") throw new OciError(`container not running: ${rec.id}`);
      if (f.all) {
        for (const pid of cgroupOf(rec).pids()) {
          try {
            process.kill(pid, signal);
          } catch {}
        }
      } else if (!signalProcess(rec.pid, rec.pidStartTime, signal)) throw new OciError(`container not running: ${rec.id}`);
      return 0;
    },
  },

  delete: {
    flags: { force: { alias: "f" } },
    run(f, args, ctx) {
      const id = one(args, "delete");
      const rec = readRecord(id);
      if (!rec) {
        // runc: --force of a container that is not there (any more) succeeds; containerd's shim
        // cleanup runs `delete --force` after an ordinary delete and logs a failure otherwise
        if (f.force) return void removeRecord(id), 0;
        throw new OciError(`container does not exist: ${id}`);
      }
      deleteContainer(rec, f.force === true, ctx);
      return 0;
    },
  },

  exec: {
    flags: {
      process: { alias: "p", value: true }, detach: { alias: "d" }, "pid-file": { value: true }, tty: { alias: "t" },
      "console-socket": { value: true }, cwd: { value: true }, env: { alias: "e", value: true, list: true },
      user: { alias: "u", value: true }, cap: { alias: "c", value: true, list: true }, "no-new-privs": {},
      "additional-gids": { alias: "g", value: true, list: true }, "preserve-fds": { value: true }, "process-label": { value: true },
      "apparmor": { value: true },
    },
    async run(f, args) {
      if (args.length < 1) throw new OciError("exec: expects <container-id> [command...]");
      const rec = requireRecord(checkId(args[0]));
      const status = statusNow(rec);
      if (status !== "running" && status !== "created") throw new OciError(`cannot exec in a ${status} container: ${rec.id}`);
      const spec = readSpec(rec.id);
      const proc = execProcess(f, args.slice(1), spec);
      const launched = execInContainer({
        pid: rec.pid, cgroup: cgroupOf(rec), process: proc,
        namespaces: spec.linux.namespaces.map((n) => n.type), seccomp: spec.linux.seccomp, stdio: ["inherit", "inherit", "inherit"],
        onTerminal: consoleSender(str(f, "console-socket"), proc.terminal === true),
      });
      closeConsole(launched.terminal, proc.terminal === true);
      writePidFile(str(f, "pid-file"), launched.init.pid);
      if (f.detach) {
        launched.init.unref();
        return 0;
      }
      return await launched.init.exited;
    },
  },

  ps: {
    flags: { format: { alias: "f", value: true } },
    run(f, args) {
      if (args.length < 1) throw new OciError("ps: expects <container-id> [ps options]");
      const rec = requireRecord(checkId(args[0]));
      const pids = statusNow(rec) === "stopped" ? [] : cgroupOf(rec).pids();
      if (str(f, "format") === "json") return void console.log(JSON.stringify(pids)), 0;
      const ps = Bun.spawnSync(["ps", ...(args.length > 1 ? args.slice(1) : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
      const [header = "", ...lines] = ps.stdout.toString().split("\n");
      const col = header.trim().split(/\s+/).indexOf("PID");
      console.log(header);
      for (const l of lines) if (col >= 0 && pids.includes(Number(l.trim().split(/\s+/)[col]))) console.log(l);
      return 0;
    },
  },

  list: {
    flags: { format: { alias: "f", value: true }, quiet: { alias: "q" } },
    run(f) {
      const recs = listIds().map(readRecord).filter((r): r is OciRecord => r !== undefined);
      if (f.quiet) return void recs.forEach((r) => console.log(r.id)), 0;
      const states = recs.map((r) => stateJson(r, statusNow(r)) as Record<string, unknown>);
      if (str(f, "format") === "json") return void console.log(JSON.stringify(states)), 0;
      console.log(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].join("\t"));
      for (const s of states) console.log([s.id, s.pid, s.status, s.bundle, s.created, s.owner].join("\t"));
      return 0;
    },
  },

  pause: {
    flags: {},
    run(_f, args) {
      const rec = requireRecord(one(args, "pause"));
      if (statusNow(rec) !== "running") throw new OciError(`container not running: ${rec.id}`);
      cgroupOf(rec).setFrozen(true);
      return 0;
    },
  },

  resume: {
    flags: {},
    run(_f, args) {
      const rec = requireRecord(one(args, "resume"));
      if (statusNow(rec) !== "paused") throw new OciError(`container not paused: ${rec.id}`);
      cgroupOf(rec).setFrozen(false);
      return 0;
    },
  },

  update: {
    flags: {
      resources: { alias: "r", value: true }, memory: { value: true }, "cpu-quota": { value: true }, "cpu-period": { value: true },
      "cpu-share": { value: true }, "cpuset-cpus": { value: true }, "cpuset-mems": { value: true }, "pids-limit": { value: true },
    },
    async run(f, args, ctx) {
      const rec = requireRecord(one(args, "update"));
      if (statusNow(rec) === "stopped") throw new OciError(`container not running: ${rec.id}`);
      const file = str(f, "resources");
      const raw = file === undefined ? {} : JSON.parse(file === "-" ? await Bun.stdin.text() : readFileSync(file, "utf8"));
      const num = (name: string) => (str(f, name) === undefined ? undefined : Number(str(f, name)));
      raw.memory = { ...raw.memory, ...(num("memory") !== undefined ? { limit: num("memory") } : {}) };
      raw.cpu = {
        ...raw.cpu,
        ...(num("cpu-quota") !== undefined ? { quota: num("cpu-quota") } : {}), ...(num("cpu-period") !== undefined ? { period: num("cpu-period") } : {}),
        ...(num("cpu-share") !== undefined ? { shares: num("cpu-share") } : {}), ...(str(f, "cpuset-cpus") ? { cpus: str(f, "cpuset-cpus") } : {}),
        ...(str(f, "cpuset-mems") ? { mems: str(f, "cpuset-mems") } : {}),
      };
      if (num("pids-limit") !== undefined) raw.pids = { limit: num("pids-limit") };
      const warnings: string[] = [];
      const res = ociResources(raw, warnings) ?? {};
      for (const w of warnings) ctx.warn(w);
      delete res.devices; // the device list is set at create
      cgroupOf(rec).update(res);
      return 0;
    },
  },

  features: {
    flags: {},
    run() {
      console.log(JSON.stringify(features(), null, 2));
      return 0;
    },
  },

  spec: {
    flags: { bundle: { alias: "b", value: true }, rootless: {} },
    run(f) {
      if (f.rootless) throw new OciError("spec --rootless: rootless containers are not supported");
      const path = join(resolve(str(f, "bundle") ?? "."), "config.json");
      if (existsSync(path)) throw new OciError(`File ${path} exists. Remove it first`);
      writeFileSync(path, JSON.stringify(defaultSpec(), null, "\t") + "\n", { mode: 0o644 });
      return 0;
    },
  },
};

/** delete: a stopped or created container's cgroup and record; a running one only with force. */
function deleteContainer(rec: OciRecord, force: boolean, ctx: Context): void {
  const status = statusNow(rec);
  if ((status === "running" || status === "paused") && !force) throw new OciError(`cannot delete container ${rec.id} that is not stopped: ${status}`);
  const cgroup = cgroupOf(rec);
  if (status !== "stopped") signalProcess(rec.pid, rec.pidStartTime, "SIGKILL");
  cgroup.destroy(); // kills whatever is left in it, thaws a frozen one first
  runHooks(hooksOf(rec.id), "poststop", stateJson(rec, "stopped"), ctx.warn);
  removeRecord(rec.id);
}

/** The exec'd process: `--process FILE` (an OCI process), else ARGS with the container's defaults. */
function execProcess(f: Flags, args: string[], spec: Spec): Spec["process"] {
  const file = str(f, "process");
  if (file) {
    const p = JSON.parse(readFileSync(file, "utf8")) as Spec["process"];
    if (!Array.isArray(p.args) || p.args.length === 0) throw new OciError(`exec --process ${file}: args must name the command`);
    return { ...p, cwd: p.cwd || "/", env: p.env ?? [] };
  }
  if (args.length === 0) throw new OciError("exec: a command or --process is required");
  const proc: Spec["process"] = { ...spec.process, args, terminal: f.tty === true, cwd: str(f, "cwd") ?? spec.process.cwd, consoleSize: undefined };
  proc.env = [...spec.process.env, ...((f.env as string[]) ?? [])];
  const user = str(f, "user");
  if (user) {
    const [uid, gid = "0"] = user.split(":");
    if (!/^\d+$/.test(uid!) || !/^\d+$/.test(gid)) throw new OciError(`exec --user "${user}": expects UID[:GID]`);
    proc.user = { uid: Number(uid), gid: Number(gid), additionalGids: ((f["additional-gids"] as string[]) ?? []).map(Number) };
  }
  const caps = (f.cap as string[] | undefined) ?? [];
  if (caps.length && proc.capabilities) {
    const add = (set?: string[]) => [...new Set([...(set ?? []), ...caps])];
    proc.capabilities = { ...proc.capabilities, bounding: add(proc.capabilities.bounding), effective: add(proc.capabilities.effective), permitted: add(proc.capabilities.permitted) };
  }
  if (f["no-new-privs"]) proc.noNewPrivileges = true;
  return proc;
}

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14,
  TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26,
  PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};

/** `9`, `KILL`, `SIGKILL` (podman sends numbers, the OCI test suite names). */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text) && Number(text) > 0 && Number(text) < 65) return Number(text);
  const n = SIGNALS[text.toUpperCase().replace(/^SIG/, "")];
  if (n === undefined) throw new OciError(`invalid signal "${text}"`);
  return n;
}

function features(): object {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "bind", "rbind", "noatime", "nodiratime", "relatime", "strictatime", "private", "rprivate", "slave", "rslave"],
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "uts"],
      capabilities: (require("../security/capabilities") as typeof import("../security/capabilities")).CAPABILITY_NAMES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE"],
        operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
        archs: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { "org.mydocker.version": "0.1.0" },
  };
}

/** `spec`: docker's defaults for a `rootfs/` beside config.json, running `sh` on a terminal. */
function defaultSpec(): Spec {
  const spec = buildSpec({ args: ["sh"], rootfs: "rootfs", hostname: "mydocker", terminal: true });
  applySecurity(spec, { privileged: false, capAdd: [], capDrop: [], noNewPrivileges: true, seccomp: "unconfined", groupAdd: [], rlimits: [], sysctl: {}, devices: [] });
  delete spec.linux.devices; // the runtime's defaults apply
  return { ...spec, process: { ...spec.process, user: { uid: 0, gid: 0 } } };
}

