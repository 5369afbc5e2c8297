// The container's init: the process mydocker spawns inside a new PID namespace. It reads its
// orders (the OCI config) from fd 3, makes every kernel-facing step of a container start below,
// in order, and finally becomes the user's command with execve(2). Any failure is reported back
// over fd 3 and the init exits before running anything: a command never runs on the host's root.
//
// Only synchronous calls here: they run on this (the JS) thread, which is the thread whose
// namespaces change; Bun's other threads stay where they were and die at execve.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, rmdirSync, statSync, symlinkSync, writeFileSync, writeSync, accessSync, constants } from "node:fs";
import { dirname } from "node:path";
import { SyscallError } from "../../ffi/errno";
import * as M from "../../ffi/mount";
import { CLONE_FS, NAMESPACES, setns, unshare, type NamespaceType } from "../../ffi/namespaces";
import { setLinkUp } from "../../ffi/net";
import { sendFd } from "../../ffi/socket";
import { close as closeFd, dup2, openPtyMaster, openPtyPeer, ptySlavePath, setControllingTerminal, setsid } from "../../ffi/tty";
import { S_IFCHR, mknod } from "../../ffi/fs";
import { chdir, execve, sethostname, setCloexec, umask } from "../../ffi/process";
import type { Mount, Spec } from "../spec";
import { DEFAULT_PATH } from "../spec";
import { putOldName } from "./layout";
import { parseMountOptions } from "./options";

/** What the parent writes to fd 3: one JSON line. Start a new container, or join a running one. */
export type InitOrders = CreateOrders | { exec: ExecOrders };

export interface CreateOrders {
  id: string;
  spec: Spec;
}

/** `mydocker exec`: the command, and the namespaces to join (files under /proc/PID/ns). */
export interface ExecOrders {
  process: Spec["process"];
  namespaces: { type: NamespaceType; path: string }[];
}

/** The payload of the fd 3 message that carries the terminal's master. */
export const TERMINAL_MESSAGE = '{"terminal":true}\n';

/** What the init writes back on failure, before exiting with `code`. */
export interface InitFailure {
  error: string;
  code: number;
}

const ORDERS_FD = 3;

/** Exit codes of docker run: 125 runtime error, 126 cannot execute, 127 not found. */
class InitError extends Error {
  constructor(message: string, readonly code = 125) {
    super(message);
  }
}

// Standard devices (OCI runtime-spec "Default Devices"), mode 0666.
const DEVICES: [name: string, major: number, minor: number][] = [
  ["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0],
];
const DEV_LINKS: [link: string, target: string][] = [
  ["/dev/fd", "/proc/self/fd"], ["/dev/stdin", "/proc/self/fd/0"], ["/dev/stdout", "/proc/self/fd/1"],
  ["/dev/stderr", "/proc/self/fd/2"], ["/dev/ptmx", "pts/ptmx"],
];

export function main(): never {
  let orders: InitOrders;
  try {
    orders = JSON.parse(readOrders()) as InitOrders;
  } catch (e) {
    return fail(new InitError(`init: cannot read orders on fd 3: ${(e as Error).message}`));
  }
  try {
    return "exec" in orders ? joinContainer(orders.exec) : startContainer(orders);
  } catch (e) {
    return fail(e);
  }
}

/** The container start, step by step. */
function startContainer({ id, spec }: CreateOrders): never {
  const rootfs = spec.root.path;
  // 1. New namespaces for this thread (the PID namespace was made by the parent: a process
  //    cannot change its own, see pid_namespaces(7)). The cgroup namespace is made now that the
  //    parent has put us in the container's cgroup, so that cgroup becomes its root.
  unshare(namespaceFlags(spec));
  umask(0);
  // 2. Stop mount events from propagating to the host (mount_namespaces(7): / is often shared).
  M.mount(null, "/", null, M.MS_REC | M.MS_PRIVATE);
  // Bind sources (volumes) are host paths, out of reach once the old root is gone: take a
  // detached copy of each now (open_tree(2)) and attach it after the pivot (move_mount(2)).
  const bindSources = openBindSources(spec.mounts);
  // 3. pivot_root(2) needs the new root to be a mount point: bind-mount the rootfs onto itself.
  M.mount(rootfs, rootfs, null, M.MS_BIND | M.MS_REC);
  // 4. Pivot into it, parking the old root in a temporary directory.
  const putOld = putOldName(id);
  mkdirSync(`${rootfs}/${putOld}`, { mode: 0o700 });
  try {
    M.pivotRoot(rootfs, `${rootfs}/${putOld}`);
    chdir("/");
    // 5. Detach the old root lazily (it is still busy below us) and remove its directory.
    M.umount2(`/${putOld}`, M.MNT_DETACH);
  } finally {
    rmdirQuietly(existsSync(`/${putOld}`) ? `/${putOld}` : `${rootfs}/${putOld}`);
  }
  // 6. The filesystems of the container: /proc, /dev and friends, /sys.
  for (const m of spec.mounts) mountOne(m, bindSources.get(m));
  makeDevices();
  const terminal = spec.process.terminal ? openTerminal({ console: true }) : undefined;
  // `run -w` makes a missing directory, as docker does (before the root may turn read-only)
  mkdirSync(spec.process.cwd, { recursive: true, mode: 0o755 });
  if (spec.root.readonly) M.mount(null, "/", null, M.MS_BIND | M.MS_REMOUNT | M.MS_RDONLY);
  // 7. Identity and network.
  if (spec.hostname) sethostname(spec.hostname);
  setLinkUp("lo");
  // 8. Become the command.
  return becomeCommand(spec.process, terminal);
}

/**
 * `mydocker exec`: the parent made us in the container's PID namespace and moved us into its
 * cgroup; join the rest. setns(2) into a mount namespace is refused (EINVAL) to a thread that
 * shares its filesystem attributes with others, as every thread of a Bun process does: unshare
 * CLONE_FS first. Joining the mount namespace also moves our root and cwd to its root.
 */
function joinContainer(orders: ExecOrders): never {
  unshare(CLONE_FS);
  const fds = orders.namespaces.map((ns) => ({ type: ns.type, fd: openSync(ns.path, "r") }));
  for (const { type, fd } of fds) {
    setns(fd, NAMESPACES[type].flag);
    closeSync(fd);
  }
  const terminal = orders.process.terminal ? openTerminal({ console: false }) : undefined;
  return becomeCommand(orders.process, terminal);
}

/** PATH lookup inside the container, working directory, execve. */
function becomeCommand(proc: Spec["process"], terminal?: number): never {
  chdir(proc.cwd); // first: a relative command path (`-w /bin ./ls`) is relative to it
  const path = lookPath(proc.args[0], proc.env);
  if (terminal !== undefined) becomeTerminalSession(terminal);
  umask(0o022);
  setCloexec(ORDERS_FD);
  try {
    return execve(path, proc.args, proc.env);
  } catch (e) {
    const code = e instanceof SyscallError && (e.code === "ENOENT" || e.code === "ENOTDIR") ? 127 : 126;
    throw new InitError(`exec ${proc.args[0]}: ${(e as SyscallError).code}`, code);
  }
}

function namespaceFlags(spec: Spec): number {
  let flags = 0;
  for (const ns of spec.linux.namespaces) {
    if (ns.path) throw new InitError(`namespace ${ns.type}: joining an existing one (path ${ns.path}) is not supported`);
    if (ns.type !== "pid") flags |= NAMESPACES[ns.type].flag;
  }
  return flags;
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
  if (bindTree !== undefined && !fstatSync(bindTree).isDirectory()) {
    // a file is bind-mounted onto a file
    mkdirSync(dirname(m.destination), { recursive: true, mode: 0o755 });
    if (!existsSync(m.destination)) writeFileSync(m.destination, "", { mode: 0o644 });
  } else {
    mkdirSync(m.destination, { recursive: true, mode: 0o755 }); // umask is 0 here: say the mode
  }
  if (bindTree !== undefined) {
    if (flags & M.MS_RDONLY) M.makeTreeReadOnly(bindTree, m.destination);
    M.moveMount(bindTree, m.destination);
    closeSync(bindTree);
    return;
  }
  // sysfs and the like refuse MS_RDONLY on first mount in some cases; mount, then remount ro.
  const wantRo = (flags & M.MS_RDONLY) !== 0;
  M.mount(m.source ?? m.type ?? "none", m.destination, m.type ?? null, wantRo ? flags & ~M.MS_RDONLY : flags, data);
  if (wantRo) M.mount(null, m.destination, null, M.MS_REMOUNT | M.MS_BIND | M.MS_RDONLY | (flags & (M.MS_NOSUID | M.MS_NODEV | M.MS_NOEXEC)));
}

function makeDevices(): void {
  for (const [name, major, minor] of DEVICES) mknod(`/dev/${name}`, S_IFCHR | 0o666, major, minor);
  for (const [link, target] of DEV_LINKS) if (!existsSync(link)) symlinkSync(target, link);
}

/**
 * A pseudo-terminal from the container's own devpts (mounted newinstance above, so its numbers
 * start at 0): the master goes to the runtime over fd 3 (SCM_RIGHTS, unix(7)), the slave stays
 * here to become the command's stdio. With `console`, /dev/console is the slave too.
 */
function openTerminal(opts: { console: boolean }): number {
  const master = openPtyMaster("/dev/pts/ptmx");
  const slave = openPtyPeer(master);
  if (opts.console) {
    writeFileSync("/dev/console", "", { mode: 0o600 });
    M.mount(ptySlavePath(master), "/dev/console", null, M.MS_BIND);
  }
  sendFd(ORDERS_FD, master, Buffer.from(TERMINAL_MESSAGE));
  closeFd(master);
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
    if (!existsSync(cmd)) throw new InitError(`exec ${cmd}: no such file or directory`, 127);
    return cmd;
  }
  const pathVar = env.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of pathVar.split(":")) {
    const candidate = `${dir || "."}/${cmd}`;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  throw new InitError(`exec ${cmd}: executable file not found in $PATH`, 127);
}

function rmdirQuietly(path: string): void {
  try {
    rmdirSync(path);
  } catch {}
}

function readOrders(): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = readSync(ORDERS_FD, buf);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if (buf[n - 1] === 0x0a) break; // one JSON line
  }
  return Buffer.concat(chunks).toString();
}

function fail(e: unknown): never {
  const failure: InitFailure = {
    error: e instanceof Error ? e.message : String(e),
    code: e instanceof InitError ? e.code : 125,
  };
  try {
    writeSync(ORDERS_FD, JSON.stringify(failure) + "\n");
    closeSync(ORDERS_FD);
  } catch {
    process.stderr.write(`mydocker: ${failure.error}\n`);
  }
  process.exit(failure.code);
}
