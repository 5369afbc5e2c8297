// The container's init: the process mydocker spawns inside a new PID namespace. It reads its
// orders (the OCI config) from fd 3, makes every kernel-facing step of a container start below,
// in order, and finally becomes the user's command with execve(2). Any failure is reported back
// over fd 3 and the init exits before running anything: a command never runs on the host's root.
//
// Only synchronous calls here: they run on this (the JS) thread, which is the thread whose
// namespaces change; Bun's other threads stay where they were and die at execve.
import * as F from "../../ffi/file";
import { SyscallError } from "../../ffi/errno";
import * as M from "../../ffi/mount";
import { CLONE_FS, NAMESPACES, setns, unshare, type NamespaceType } from "../../ffi/namespaces";
import { setLinkUp } from "../../ffi/net";
import { sendFd } from "../../ffi/socket";
import { close as closeFd, dup2, openPtyMaster, openPtyPeer, ptySlavePath, setControllingTerminal, setsid, setWindowSize } from "../../ffi/tty";
import { S_IFBLK, S_IFCHR, S_IFIFO, mknod } from "../../ffi/fs";
import { chdir, execve, resetSignals, setdomainname, sethostname, setCloexec, umask } from "../../ffi/process";
import * as C from "../../ffi/credentials";
import { loadSeccompProgram } from "../../ffi/seccomp";
import type { LinuxDevice, Mount, Spec } from "../spec";
import { DEFAULT_PATH } from "../spec";
import { capabilityMask } from "../security/capabilities";
import { sysctlNamespace } from "../security/sysctl";
import { parseMountOptions } from "./options";
import { resolveUser } from "./user";
import { OrdersReader } from "./orders-reader";
import { encode, NETWORK_READY, ORDERS_FD, type CgroupMade, type CreateOrders, type ExecOrders, type InitOrders } from "./protocol";
import { mark, now, startTrace, step, traceEvents, tracing } from "../trace";

/** Exit codes of docker run: 125 runtime error, 126 cannot execute, 127 not found. */
class InitError extends Error {
  constructor(message: string, readonly code = 125) {
    super(message);
  }
}

// Standard devices (OCI runtime-spec "Default Devices"), mode 0666: made when the config names none.
const DEFAULT_DEVICES: LinuxDevice[] = [
  ["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0],
].map(([name, major, minor]) => ({ path: `/dev/${name}`, type: "c", major: major as number, minor: minor as number, fileMode: 0o666 }));
const DEV_LINKS: [link: string, target: string][] = [
  ["/dev/fd", "/proc/self/fd"], ["/dev/stdin", "/proc/self/fd/0"], ["/dev/stdout", "/proc/self/fd/1"],
  ["/dev/stderr", "/proc/self/fd/2"], ["/dev/ptmx", "pts/ptmx"],
];

/** fd 3: the orders, then the runtime's single bytes. */
const fd3 = new OrdersReader(ORDERS_FD);

export function main(): never {
  // Before anything else: nothing in the container (same uid 0) may ptrace us or read our
  // /proc files while we still hold the host's privileges (prctl(2) PR_SET_DUMPABLE).
  // execve(2) makes the user's command dumpable again.
  try {
    C.setNonDumpable();
  } catch (e) {
    return fail(e);
  }
  const firstLine = now();
  const text = fd3.line();
  // No orders at all: the runtime died before it sent them. Nobody is listening; say nothing.
  if (text === "") process.exit(125);
  const read = now();
  let orders: InitOrders;
  try {
    orders = JSON.parse(text) as InitOrders;
  } catch (e) {
    return fail(new InitError(`init: cannot read orders on fd 3: ${(e as Error).message}`));
  }
  // The cgroup before any order is carried out (v1: the orders name each hierarchy's `tasks`
  // file; v2: we were born in it): everything the init does for the container happens inside
  // its limits. Except with `cgroupLater` (v1), where the runtime makes the cgroup while we make
  // the namespaces and the first mounts (their memory and CPU time still count in the runtime's
  // own cgroup), and we join it before the cgroup filesystems and the device nodes
  // (joinCgroupLater).
  const join = ("exec" in orders ? orders.exec.joinCgroup : orders.joinCgroup) ?? [];
  const joinLater = !("exec" in orders) && orders.cgroupLater === true;
  if ("exec" in orders ? orders.exec.trace : orders.trace) {
    startTrace("init");
    mark("Bun start-up (process start to the init's first line)", performance.timeOrigin, "", firstLine);
    mark(`wait: orders on fd 3 (the runtime makes ${joinLater ? "" : "the cgroup and "}the root meanwhile)`, firstLine, "", read);
  }
  if (!joinLater) {
    try {
      joinCgroup(join);
    } catch (e) {
      return fail(e);
    }
  }
  try {
    if ("exec" in orders) {
      faultPoint = orders.exec.fault;
      return joinContainer(orders.exec);
    }
    faultPoint = orders.fault;
    return startContainer(orders);
  } catch (e) {
    return fail(e);
  }
}

/** The exec FIFO (OCI create), held by an O_PATH fd; then, once `start` came, open for writing. */
let parkedOn: number | undefined;
let startFifo: number | undefined;

/**
 * OCI create/start: tell the runtime the container is made, then block in open(2) of the FIFO
 * for writing until `start` opens it for reading (fifo(7)), and write one byte. The FIFO stays
 * open (close-on-exec): `start` reads end of file once execve succeeded, or the error after it.
 */
function park(fifoPath: number): void {
  F.write(ORDERS_FD, encode({ type: "ready", ...(tracing() ? { trace: traceEvents() } : {}) })); // `create` returns on it: nobody listens on fd 3 afterwards
  startFifo = F.open(`/proc/self/fd/${fifoPath}`, F.O_WRONLY);
  F.close(fifoPath);
  F.write(startFifo, "0");
}

/**
 * Test-only (MYDOCKER_FAULT=init:STEP in the runtime's environment): die at STEP without a word,
 * as a SIGKILL would leave it. (A SIGKILL we send ourselves does nothing: as PID 1 of its
 * namespace the init is immune to signals from inside it, pid_namespaces(7).)
 */
let faultPoint: string | undefined;
function fault(step: string): void {
  if (faultPoint === step) process.exit(137);
}

/**
 * v1: this thread joins the container's cgroup, writing 0 into each hierarchy's `tasks` file
 * (host paths; after the pivot reached through `hostRoot`, an fd of the host's `/`).
 */
function joinCgroup(tasksFiles: string[], hostRoot?: number): void {
  if (!tasksFiles.length) return;
  const start = now();
  try {
    for (const tasks of tasksFiles) {
      if (hostRoot === undefined) F.writeText(tasks, "0");
      else F.writeTextAt(hostRoot, tasks.replace(/^\/+/, ""), "0");
    }
  } catch (e) {
    throw new InitError(`init: join the container's cgroup: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  mark(`cgroup v1: the init's thread joins by itself (write 0 to ${tasksFiles.length} tasks files)`, start);
}

/**
 * `cgroupLater`: once the runtime says the cgroup is made (a CgroupMade line), join it and only
 * then make the cgroup namespace, so that the container's cgroup becomes its root
 * (cgroup_namespaces(7)). Called before the first step the cgroup governs: the cgroup
 * filesystems, the device nodes (v1's devices controller decides on mknod(2)). Once.
 */
let joinedLater = false;
function joinCgroupLater(orders: CreateOrders, hostRoot: number | undefined): void {
  if (!orders.cgroupLater || joinedLater) return;
  joinedLater = true;
  const start = now();
  const line = fd3.line();
  if (line === "") throw new InitError("init: the runtime went away before it made the cgroup");
  mark("wait: the runtime makes the cgroup", start);
  joinCgroup((JSON.parse(line) as CgroupMade).joinCgroup, hostRoot);
  if (hostRoot !== undefined) F.close(hostRoot);
  if (namespaceFlags(orders.spec, orders.bornIn ?? []) & NAMESPACES.cgroup.flag) unshare(NAMESPACES.cgroup.flag);
}

/** The container start, step by step. */
function startContainer(orders: CreateOrders): never {
  const { spec, seccomp, seccompFlags, execFifo, bornIn = [], networkLater, cgroupLater } = orders;
  const rootfs = spec.root.path;
  // OCI create: the FIFO `start` will open is a host path, out of reach after the pivot: hold it
  // by an O_PATH fd now, reopen it through /proc/self/fd when parked (as runc does).
  if (execFifo) parkedOn = F.open(execFifo, F.O_PATH);
  // `cgroupLater`: the cgroup's files are host paths, joined after the pivot through this fd of
  // the host's root (close-on-exec, closed once joined, before anything of the container runs;
  // we are not dumpable: /proc/<us>/fd is closed to other processes of our user but privileged ones).
  const hostRoot = cgroupLater ? F.open("/", F.O_PATH) : undefined;
  const cgroupV2 = F.exists("/sys/fs/cgroup/cgroup.controllers"); // the host's view, before the pivot
  // 1. New namespaces for this thread (the PID namespace was made by the parent: a process
  //    cannot change its own, see pid_namespaces(7); so was the network namespace of a container
  //    on a bridge, which the parent connected while we started: `bornIn`). The cgroup namespace
  //    is made once we are in the container's cgroup, so that cgroup becomes its root: now, or
  //    with `cgroupLater` once we joined it (joinCgroupLater).
  fault("start");
  joinNamespaces(spec);
  unshare(namespaceFlags(spec, bornIn) & ~(cgroupLater ? NAMESPACES.cgroup.flag : 0));
  umask(0);
  // 2. Stop mount events from propagating to the host (mount_namespaces(7): / is often shared).
  M.mount(null, "/", null, M.MS_REC | M.MS_PRIVATE);
  // Bind sources (volumes) are host paths, out of reach once the old root is gone: take a
  // detached copy of each now (open_tree(2)) and attach it after the pivot (move_mount(2)).
  const bindSources = openBindSources(spec.mounts);
  // 3. pivot_root(2) needs the new root to be a mount point: bind-mount the rootfs onto itself.
  M.mount(rootfs, rootfs, null, M.MS_BIND | M.MS_REC);
  // 4. Pivot into it with new_root and put_old both ".": the old root ends up mounted on top of
  //    the new one (pivot_root(2), NOTES), so nothing is written into the rootfs, which may be
  //    read-only.
  chdir(rootfs);
  M.pivotRoot(".", ".");
  // 5. Detach the old root lazily (it is still busy below us): "/" is then the rootfs.
  M.umount2(".", M.MNT_DETACH);
  chdir("/");
  // linux.rootfsPropagation (runc applies it to the new root): rprivate unless the config says
  if (spec.linux.rootfsPropagation) M.mount(null, "/", null, propagationFlag(spec.linux.rootfsPropagation));
  fault("after-pivot");
  // 6. The filesystems of the container: /proc, /dev and friends, /sys, /sys/fs/cgroup, volumes.
  //    (with `cgroupLater`, the cgroup is joined before its filesystems and the device nodes)
  for (const m of spec.mounts) {
    if (m.type === "cgroup") {
      joinCgroupLater(orders, hostRoot);
      mountCgroupFs(m, cgroupV2);
    } else mountOne(m, bindSources.get(m));
  }
  joinCgroupLater(orders, hostRoot);
  makeDevices(spec.linux.devices ?? DEFAULT_DEVICES);
  // (the parent has been connecting our network namespace meanwhile: what follows may use it)
  if (networkLater) awaitNetwork();
  const terminal = spec.process.terminal ? openTerminal({ console: true, size: spec.process.consoleSize }) : undefined;
  // `run -w` makes a missing directory, as docker does (before the root may turn read-only)
  F.mkdir(spec.process.cwd, 0o755, true);
  // 7. Kernel parameters of the container's own namespaces, while /proc/sys is still writable.
  for (const [key, value] of Object.entries(spec.linux.sysctl ?? {})) step(`write /proc/sys/${key.replaceAll(".", "/")} = ${value}`, () => writeSysctl(key, value));
  // 8. What the command must not see or change: masked paths (an empty read-only tmpfs on a
  //    directory, /dev/null on a file), read-only paths, a read-only root.
  for (const path of spec.linux.maskedPaths ?? []) maskPath(path);
  for (const path of spec.linux.readonlyPaths ?? []) readonlyPath(path);
  if (spec.root.readonly) M.mount(null, "/", null, M.MS_BIND | M.MS_REMOUNT | M.MS_RDONLY);
  // 9. Identity and network (a joined network namespace is someone else's: leave its links alone).
  if (spec.hostname) sethostname(spec.hostname);
  if (spec.domainname) setdomainname(spec.domainname);
  if (spec.linux.namespaces.some((n) => n.type === "network" && !n.path)) setLinkUp("lo");
  if (spec.process.oomScoreAdj !== undefined) F.writeText("/proc/self/oom_score_adj", String(spec.process.oomScoreAdj));
  // 10. Become the command, with the privileges the config leaves it.
  return becomeCommand(spec.process, { program: seccomp, flags: seccompFlags }, terminal);
}

/**
 * `mydocker exec`: the parent made us in the container's PID namespace and moved us into its
 * cgroup; join the rest. setns(2) into a mount namespace is refused (EINVAL) to a thread that
 * shares its filesystem attributes with others, as every thread of a Bun process does: unshare
 * CLONE_FS first. Joining the mount namespace also moves our root and cwd to its root.
 */
function joinContainer(orders: ExecOrders): never {
  unshare(CLONE_FS);
  const fds = orders.namespaces.map((ns) => ({ type: ns.type, fd: F.open(ns.path, "r") }));
  for (const { type, fd } of fds) {
    if (type === "mount") joinMountNamespace(fd);
    else setns(fd, NAMESPACES[type].flag);
    F.close(fd);
  }
  const terminal = orders.process.terminal ? openTerminal({ console: false, size: orders.process.consoleSize }) : undefined;
  return becomeCommand(orders.process, { program: orders.seccomp, flags: orders.seccompFlags }, terminal);
}

/**
 * setns(2) into the mount namespace at `fd`. The kernel refuses it (EINVAL) while another thread
 * shares our filesystem attributes, and unshare(CLONE_FS) above gave this thread a copy of its
 * own; but a thread this one starts afterwards shares that copy again (pthreads are cloned with
 * CLONE_FS), and JavaScriptCore starts some on demand (its heap's warm-up thread, GC helpers).
 * When that happened in between, take a copy of our own again and retry (seen in the cgroup2 VM:
 * `setns: EINVAL` for the mount namespace).
 */
function joinMountNamespace(fd: number): void {
  for (let attempt = 1; ; attempt++) {
    try {
      return setns(fd, NAMESPACES.mount.flag);
    } catch (e) {
      if ((e as SyscallError).code !== "EINVAL" || attempt === 3) throw e;
      unshare(CLONE_FS);
    }
  }
}

/**
 * PATH lookup inside the container, working directory, then the privileges, in the order of
 * runc's finalizeNamespace (all per-thread, all on this thread, the one that execs):
 * rlimits -> [seccomp, when no_new_privs is off: loading a filter then needs CAP_SYS_ADMIN, so
 * it goes while we have it] -> bounding set (needs CAP_SETPCAP) -> groups, gid, uid (keeping the
 * permitted set across the switch) -> capset -> ambient -> no_new_privs -> [seccomp] -> execve.
 */
function becomeCommand(proc: Spec["process"], seccomp: { program?: string; flags?: number }, terminal?: number): never {
  chdir(proc.cwd); // first: a relative command path (`-w /bin ./ls`) is relative to it
  const user = proc.user ? userOf(proc.user) : undefined;
  const env = user && !proc.env.some((e) => e.startsWith("HOME=")) ? [...proc.env, `HOME=${user.home}`] : proc.env;
  const path = step(`look up ${proc.args[0]} in PATH`, () => lookPath(proc.args[0], env));
  if (terminal !== undefined) becomeTerminalSession(terminal);
  umask(proc.user?.umask ?? 0o022);
  setCloexec(ORDERS_FD);
  if (parkedOn !== undefined) park(parkedOn);
  const filter = seccomp.program ? Buffer.from(seccomp.program, "base64") : undefined;
  const caps = proc.capabilities ? capabilitySets(proc.capabilities) : undefined;
  for (const r of proc.rlimits ?? []) C.setRlimit(r.type, r.soft, r.hard);
  if (filter && !proc.noNewPrivileges) loadSeccompProgram(filter, seccomp.flags);
  if (caps) for (let cap = 0; cap <= caps.lastCap; cap++) if (!(caps.bounding & (1n << BigInt(cap)))) C.dropFromBoundingSet(cap);
  if (user) {
    C.setKeepCaps(true);
    C.setGroups(user.groups);
    C.setGid(user.gid);
    C.setUid(user.uid);
    C.setKeepCaps(false);
  }
  if (caps) {
    C.setCapabilities(caps);
    C.clearAmbient();
    // A capability can only be ambient if it is also permitted and inheritable (capabilities(7));
    // runc warns and goes on when the kernel refuses one (runc's own `spec` asks for ambient caps
    // that are not inheritable), and so do we: the command gets fewer privileges, not more.
    for (let cap = 0; cap <= caps.lastCap; cap++) {
      if (!(caps.ambient & (1n << BigInt(cap)))) continue;
      try {
        C.raiseAmbient(cap);
      } catch {}
    }
  }
  if (proc.noNewPrivileges) C.setNoNewPrivileges();
  if (filter && proc.noNewPrivileges) loadSeccompProgram(filter, seccomp.flags);
  fault("before-exec");
  step("every signal to its default action (rt_sigaction of 1..64), none blocked", resetSignals);
  // a failed execve is reported after this, as an error
  if (parkedOn === undefined) F.write(ORDERS_FD, encode({ type: "exec", ...(tracing() ? { trace: traceEvents() } : {}) }));
  else if (tracing()) F.write(startFifo!, encode({ type: "exec", trace: traceEvents() })); // for `start --trace`
  try {
    return execve(path, proc.args, env);
  } catch (e) {
    const code = e instanceof SyscallError && (e.code === "ENOENT" || e.code === "ENOTDIR") ? 127 : 126;
    throw new InitError(`exec ${proc.args[0]}: ${(e as SyscallError).code}`, code);
  }
}

/** The user of the config: numeric ids, or (mydocker's `name`) looked up in this root's /etc files. */
function userOf(u: NonNullable<Spec["process"]["user"]>): { uid: number; gid: number; groups: number[]; home: string } {
  if (u.name === undefined) return { uid: u.uid, gid: u.gid, groups: u.additionalGids ?? [], home: "/" };
  try {
    return resolveUser(u.name, [...(u.additionalGids ?? []), ...(u.additionalGroupNames ?? [])]);
  } catch (e) {
    throw new InitError((e as Error).message);
  }
}

/** The config's capability names as masks; names the kernel lacks are skipped, as runc does. */
function capabilitySets(c: NonNullable<Spec["process"]["capabilities"]>) {
  const lastCap = Number(F.readText("/proc/sys/kernel/cap_last_cap"));
  const m = (names?: string[]) => capabilityMask(names, lastCap).mask;
  return { lastCap, bounding: m(c.bounding), effective: m(c.effective), permitted: m(c.permitted), inheritable: m(c.inheritable), ambient: m(c.ambient) };
}

/** The namespaces to make: those of the config without a `path` (the PID one is the parent's job). */
function namespaceFlags(spec: Spec, bornIn: NamespaceType[]): number {
  let flags = 0;
  for (const ns of spec.linux.namespaces) if (!ns.path && ns.type !== "pid" && !bornIn.includes(ns.type)) flags |= NAMESPACES[ns.type].flag;
  return flags;
}

/**
 * The namespaces of the config that have a `path` (a pod's network, IPC, UTS): joined with
 * setns(2) before the others are made. (The parent refuses a mount namespace path; the PID one
 * it handles itself.)
 */
function joinNamespaces(spec: Spec): void {
  for (const ns of spec.linux.namespaces) {
    if (!ns.path || ns.type === "pid") continue;
    if (ns.type === "mount") throw new InitError("namespace mount: joining an existing one is not supported");
    const fd = F.open(ns.path, "r");
    try {
      setns(fd, NAMESPACES[ns.type].flag);
    } finally {
      F.close(fd);
    }
  }
}

function openBindSources(mounts: Mount[]): Map<Mount, number> {
  const trees = new Map<Mount, number>();
  for (const m of mounts) {
    const { flags } = parseMountOptions(m.options);
    if (flags & M.MS_BIND) trees.set(m, M.openTree(m.source!, (flags & M.MS_REC) !== 0));
  }
  return trees;
}

/** One mount of the config, inside the new root; `bindTree` holds a bind mount's source (openTree). */
function mountOne(m: Mount, bindTree?: number): void {
  const { flags, data } = parseMountOptions(m.options);
  // the container's own /etc/hosts, hostname, resolv.conf: only over files its root has
  if (m.options?.includes("x-mydocker.optional") && !F.exists(m.destination)) {
    if (bindTree !== undefined) F.close(bindTree);
    return;
  }
  if (bindTree !== undefined && !F.isDirectory(bindTree)) {
    // a file is bind-mounted onto a file
    F.mkdir(F.dirname(m.destination), 0o755, true);
    if (!F.exists(m.destination)) F.writeText(m.destination, "", 0o644);
  } else {
    F.mkdir(m.destination, 0o755, true); // umask is 0 here: say the mode
  }
  if (bindTree !== undefined) {
    if (flags & M.MS_RDONLY) M.makeTreeReadOnly(bindTree, m.destination);
    M.moveMount(bindTree, m.destination);
    F.close(bindTree);
    return;
  }
  // sysfs and the like refuse MS_RDONLY on first mount in some cases; mount, then remount ro.
  const wantRo = (flags & M.MS_RDONLY) !== 0;
  M.mount(m.source ?? m.type ?? "none", m.destination, m.type ?? null, wantRo ? flags & ~M.MS_RDONLY : flags, data);
  if (wantRo) M.mount(null, m.destination, null, M.MS_REMOUNT | M.MS_BIND | M.MS_RDONLY | (flags & (M.MS_NOSUID | M.MS_NODEV | M.MS_NOEXEC)));
}

/**
 * The /dev nodes of the config (mknod(2); umask is 0 here) and the standard links. A node the
 * device cgroup does not allow can exist, but cannot be opened.
 */
function makeDevices(devices: LinuxDevice[]): void {
  const TYPES = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO } as const;
  const dirs = new Set<string>(); // made (or found) once each
  for (const d of devices) {
    const dir = F.dirname(d.path);
    if (!dirs.has(dir)) F.mkdir(dir, 0o755, true), dirs.add(dir);
    mknod(d.path, TYPES[d.type] | (d.fileMode ?? 0o666), d.major ?? 0, d.minor ?? 0);
    if (d.uid !== undefined || d.gid !== undefined) F.chown(d.path, d.uid ?? 0, d.gid ?? 0);
  }
  for (const [link, target] of DEV_LINKS) {
    try {
      F.symlink(target, link);
    } catch (e) {
      if ((e as SyscallError).code !== "EEXIST") throw e; // a device of the config took the name
    }
  }
}

/**
 * The container's own cgroup at /sys/fs/cgroup (its cgroup namespace makes it the root), read-only
 * unless the mount says otherwise: cgroup2 on a v2 host; on v1, a tmpfs holding one mount per
 * hierarchy listed in /proc/self/cgroup, named as on the host ("cpu,cpuacct", "systemd").
 */
function mountCgroupFs(m: Mount, v2: boolean): void {
  const { flags } = parseMountOptions(m.options);
  const keep = flags & (M.MS_NOSUID | M.MS_NODEV | M.MS_NOEXEC);
  const readOnly = (flags & M.MS_RDONLY) !== 0;
  if (v2) {
    M.mount("cgroup2", m.destination, "cgroup2", keep);
    if (readOnly) M.makeReadOnly(m.destination);
    return;
  }
  M.mount("tmpfs", m.destination, "tmpfs", keep, "mode=755");
  for (const line of F.readText("/proc/self/cgroup").split("\n")) {
    const controllers = line.split(":")[1];
    if (!controllers) continue; // the v2 line of a hybrid host, or the end
    const dir = `${m.destination}/${controllers.replace(/^name=/, "")}`;
    F.mkdir(dir, 0o755);
    M.mount("cgroup", dir, "cgroup", keep, controllers.startsWith("name=") ? `none,${controllers}` : controllers);
  }
  if (readOnly) M.makeReadOnly(m.destination); // recursive: the tmpfs and every hierarchy in it
}

function propagationFlag(name: string): number {
  const flags: Record<string, number> = { private: M.MS_PRIVATE, slave: M.MS_SLAVE, shared: M.MS_SHARED, unbindable: M.MS_UNBINDABLE };
  const f = name.startsWith("r") ? flags[name.slice(1)]! | M.MS_REC : flags[name];
  if (f === undefined) throw new InitError(`linux.rootfsPropagation "${name}" is not a propagation type`);
  return f;
}

/** OCI maskedPaths: what is under a path becomes unreadable; a missing path is fine. */
function maskPath(path: string): void {
  let dir: boolean;
  try {
    dir = F.isDirectory(path);
  } catch {
    return;
  }
  if (dir) M.mount("tmpfs", path, "tmpfs", M.MS_RDONLY);
  else M.mount("/dev/null", path, null, M.MS_BIND);
}

/** OCI readonlyPaths: bind the path onto itself and make that mount read-only. */
function readonlyPath(path: string): void {
  if (!F.exists(path)) return;
  M.mount(path, path, null, M.MS_BIND | M.MS_REC);
  M.makeReadOnly(path);
}

/** linux.sysctl: only keys of the container's own namespaces (the CLI checks; engines' configs too). */
function writeSysctl(key: string, value: string): void {
  if (!sysctlNamespace(key)) throw new InitError(`sysctl ${key}: not in a namespace of the container; refusing to change the host`);
  try {
    F.writeText(`/proc/sys/${key.replaceAll(".", "/")}`, value);
  } catch (e) {
    throw new InitError(`sysctl ${key}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The parent's one byte on fd 3: the veth pair, its address and route are in place. */
function awaitNetwork(): void {
  const start = now();
  if (fd3.byte() !== NETWORK_READY) throw new InitError("init: the runtime went away before it connected the network");
  mark("wait: the runtime connects the network (veth pair, address, route)", start);
}

/**
 * A pseudo-terminal from the container's own devpts (mounted newinstance above, so its numbers
 * start at 0): the master goes to the runtime over fd 3 (SCM_RIGHTS, unix(7)), the slave stays
 * here to become the command's stdio. With `console`, /dev/console is the slave too.
 */
function openTerminal(opts: { console: boolean; size?: { height: number; width: number } }): number {
  const master = openPtyMaster("/dev/pts/ptmx");
  const slave = openPtyPeer(master);
  // The caller's window size before the command starts (process.consoleSize): a full-screen
  // program reads it once, at its start. The runtime keeps it in step afterwards (SIGWINCH).
  if (opts.size && opts.size.height > 0 && opts.size.width > 0) setWindowSize(slave, opts.size.height, opts.size.width);
  if (opts.console) {
    F.writeText("/dev/console", "", 0o600);
    M.mount(ptySlavePath(master), "/dev/console", null, M.MS_BIND);
  }
  sendFd(ORDERS_FD, master, encode({ type: "terminal" }));
  closeFd(master);
  // The runtime answers with one byte once it handed the master on (an OCI --console-socket):
  // the caller can size the window before the command starts and reads it.
  if (fd3.byte() === undefined) throw new InitError("init: the runtime went away before it took the terminal");
  return slave;
}

/** A new session whose controlling terminal is `slave` (credentials(7), tty_ioctl(4) TIOCSCTTY), on fds 0-2. */
function becomeTerminalSession(slave: number): void {
  setsid();
  setControllingTerminal(slave);
  for (const fd of [0, 1, 2]) dup2(slave, fd);
  if (slave > 2) closeFd(slave);
}

/** PATH lookup inside the new root, with the container's PATH (never the host's). */
function lookPath(cmd: string | undefined, env: string[]): string {
  if (!cmd) throw new InitError("no command given");
  if (cmd.includes("/")) {
    if (!F.exists(cmd)) throw new InitError(`exec ${cmd}: no such file or directory`, 127);
    return cmd;
  }
  const pathVar = env.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of pathVar.split(":")) {
    const candidate = `${dir || "."}/${cmd}`;
    try {
      F.access(candidate, F.X_OK);
      if (F.isRegularFile(candidate)) return candidate;
    } catch {}
  }
  throw new InitError(`exec ${cmd}: executable file not found in $PATH`, 127);
}


function fail(e: unknown): never {
  const error = e instanceof Error ? e.message : String(e);
  const code = e instanceof InitError ? e.code : 125;
  if (startFifo !== undefined) {
    try {
      F.write(startFifo, encode({ type: "error", error, code })); // for `start` to report
    } catch {}
    process.exit(code);
  }
  try {
    F.write(ORDERS_FD, encode({ type: "error", error, code, ...(tracing() ? { trace: traceEvents() } : {}) }));
    F.close(ORDERS_FD);
  } catch {
    // the runtime is gone: nobody to tell
  }
  process.exit(code);
}
