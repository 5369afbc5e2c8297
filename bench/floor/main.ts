// The floor of mydocker's design, as a program of its own: a compiled Bun process that spawns
// itself as the container's init, which bind-mounts the root, pivots into it, detaches the old
// root, mounts /proc and execs the command. Nothing else: no cgroup, no record, no seccomp or
// capabilities, no devices, no teardown. bench/lib.ts (buildFloor) compiles it as the Makefile
// compiles mydocker, and start.ts, detached.ts and throughput.ts time it beside crun and runc: what
// mydocker cannot go below while it is two Bun processes on this machine. Not part of mydocker;
// its own few libc symbols keep it minimal.
//
//   floor ROOTFS CMD...      a container: PID, mount, UTS, IPC and network namespaces
//   floor --join PID CMD...  an exec: CMD in the namespaces of process PID (no cgroup, no privileges dropped)
//   floor --bare             two Bun starts and nothing else (the child exits at once)
import { dlopen, ptr } from "bun:ffi";
import { openSync } from "node:fs";

const libc = dlopen("libc.so.6", {
  unshare: { args: ["i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  mount: { args: ["ptr", "ptr", "ptr", "u64", "ptr"], returns: "i32" },
  umount2: { args: ["ptr", "i32"], returns: "i32" },
  chdir: { args: ["ptr"], returns: "i32" },
  syscall: { args: ["i64", "ptr", "ptr"], returns: "i64" },
  execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
}).symbols;

const CLONE_FS = 0x200, CLONE_NEWNS = 0x20000, CLONE_NEWUTS = 0x4000000, CLONE_NEWIPC = 0x8000000;
const CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;
const MS_BIND = 0x1000, MS_REC = 0x4000, MS_PRIVATE = 0x40000;
const MS_NOSUID = 0x2, MS_NODEV = 0x4, MS_NOEXEC = 0x8, MNT_DETACH = 2;
const SYS_pivot_root = process.arch === "x64" ? 155 : 41;

const keep: Buffer[] = []; // C strings must outlive the calls (and execve's arrays their strings)
const c = (s: string) => {
  const b = Buffer.from(`${s}\0`);
  keep.push(b);
  return ptr(b);
};
function check(what: string, rc: number | bigint): void {
  if (Number(rc) !== 0) throw new Error(`${what} failed`);
}

function parent(args: string[]): Promise<number> {
  const bare = args[0] === "--bare";
  // Only the PID namespace is entered here (it applies to the children spawned next): a new one,
  // or with --join the one of process PID; the init makes or joins the others itself, as
  // mydocker's does. This thread then returns to its own (it could not start threads otherwise).
  const ownPid = bare ? -1 : openSync("/proc/self/ns/pid_for_children", "r");
  if (args[0] === "--join") check("setns(CLONE_NEWPID)", libc.setns(openSync(`/proc/${args[1]}/ns/pid`, "r"), CLONE_NEWPID));
  else if (!bare) check("unshare(CLONE_NEWPID)", libc.unshare(CLONE_NEWPID));
  const child = Bun.spawn([process.execPath, "__floor_init", ...args], { stdio: ["inherit", "inherit", "inherit"] });
  if (!bare) check("setns", libc.setns(ownPid, CLONE_NEWPID));
  return child.exited;
}

/** --join: setns(2) into a mount namespace needs a thread that shares no filesystem attributes (CLONE_FS). */
function join(pid: string, cmd: string[]): never {
  const fds = ["ipc", "uts", "net", "mnt"].map((ns) => openSync(`/proc/${pid}/ns/${ns}`, "r"));
  check("unshare(CLONE_FS)", libc.unshare(CLONE_FS));
  for (const fd of fds) check("setns", libc.setns(fd, 0));
  check("chdir /", libc.chdir(c("/")));
  return exec(cmd);
}

function exec(cmd: string[]): never {
  const argv = new BigUint64Array(cmd.length + 1);
  cmd.forEach((a, i) => (argv[i] = BigInt(c(a))));
  const envp = new BigUint64Array([BigInt(c("PATH=/usr/sbin:/usr/bin:/sbin:/bin")), 0n]);
  libc.execve(c(cmd[0]!), ptr(argv), ptr(envp));
  throw new Error(`execve ${cmd[0]} failed`);
}

function init(args: string[]): never {
  if (args[0] === "--bare") process.exit(0);
  if (args[0] === "--join") return join(args[1]!, args.slice(2));
  const [root, ...cmd] = args;
  if (!root || cmd.length === 0) throw new Error("usage: floor ROOTFS CMD...");
  check("unshare", libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET));
  check("mount / private", libc.mount(null, c("/"), null, MS_REC | MS_PRIVATE, null));
  check("bind root", libc.mount(c(root), c(root), null, MS_BIND | MS_REC, null));
  check("chdir root", libc.chdir(c(root)));
  check("pivot_root", libc.syscall(SYS_pivot_root, c("."), c(".")));
  check("umount2 old root", libc.umount2(c("."), MNT_DETACH));
  check("chdir /", libc.chdir(c("/")));
  check("mount proc", libc.mount(c("proc"), c("/proc"), c("proc"), MS_NOSUID | MS_NODEV | MS_NOEXEC, null));
  return exec(cmd);
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error("usage: floor ROOTFS CMD... | floor --join PID CMD... | floor --bare");
  process.exit(2);
}
if (args[0] === "__floor_init") init(args.slice(1));
else process.exit(await parent(args));
