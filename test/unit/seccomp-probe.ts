// Child process of test/unit/seccomp.test.ts and bench/seccomp.ts: loads the BPF program in
// argv[2] on its JS thread (after no_new_privs when argv[3] is "nnp"), then makes raw syscalls
// and prints one JSON object: each probe's return value, or -errno when it failed. Filters are
// only ever loaded here, never in the test runner. Syscall numbers are x86_64's.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { readFileSync } from "node:fs";
import { loadSeccompProgram, setNoNewPrivs } from "../../ffi/seccomp";

const [bpfPath, mode = "", scratch = "/tmp"] = process.argv.slice(2);
const bpf = readFileSync(bpfPath!);

const libc = dlopen("libc.so.6", {
  syscall: {
    args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64],
    returns: FFIType.i64,
  },
  __errno_location: { args: [], returns: FFIType.ptr },
}).symbols;

/** A raw syscall: its result, or -errno. */
function sys(nr: number, ...args: (number | bigint)[]): number {
  const a = [...args, 0, 0, 0, 0, 0, 0].slice(0, 6);
  const rc = libc.syscall(nr, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
  if (rc === -1n) return -read.i32(libc.__errno_location()!, 0);
  return Number(rc);
}
const str = (s: string) => Buffer.from(s + "\0");
const keep: Buffer[] = [];
const p = (s: string) => {
  const b = str(s);
  keep.push(b);
  return ptr(b);
};

if (mode === "nnp") setNoNewPrivs();
const t0 = performance.now();
loadSeccompProgram(bpf);
const loadMs = performance.now() - t0;

const AT_FDCWD = -100;
const CLONE_NEWNS = 0x20000;
const CLONE_FS = 0x200;
const CLONE_THREAD = 0x10000;
const out: Record<string, unknown> = {
  loadMs,
  status: readFileSync("/proc/thread-self/status", "utf8")
    .split("\n")
    .filter((l) => /^(NoNewPrivs|Seccomp):/.test(l))
    .join(" "),
  mkdirat: sys(258, AT_FDCWD, p(`${scratch}/made-${process.pid}`), 0o755),
  // MS_REMOUNT of a path that does not exist: ENOENT when the call reaches the kernel
  mount: sys(165, 0, p("/nonexistent-seccomp-probe"), 0, 0x20, 0),
  unshareNewns: sys(272, CLONE_NEWNS),
  // flags that the kernel rejects (EINVAL) before creating anything
  cloneNewnsFs: sys(56, CLONE_NEWNS | CLONE_FS, 0, 0, 0, 0),
  cloneThreadNoSighand: sys(56, CLONE_THREAD, 0, 0, 0, 0),
  clone3: sys(435, 0, 0),
  keyctl: sys(250, 0, -3, 0),
  bpf: sys(321, 9999, 0, 0),
  perfEventOpen: sys(298, 0, 0, -1, -1, 0),
  kexecLoad: sys(246, 0, 0, 0, 0xffff0000),
  initModule: sys(175, 0, 0, p("")),
  personalityQuery: sys(135, 0xffffffff),
  personalityReadImpliesExec: sys(135, 0x0400000),
  kcmp: sys(312, process.pid, process.pid, 0, 0, 0),
  socketUnix: sys(41, 1, 1, 0),
  socketUnixDgram: sys(41, 1, 2, 0),
  socketInet: sys(41, 2, 2, 0),
  socketInet6: sys(41, 10, 2, 0),
  socketVsock: sys(41, 40, 1, 0),
  spawnTrue: Bun.spawnSync(["/bin/true"]).exitCode,
  spawnUnshareMount: Bun.spawnSync(["unshare", "--mount", "/bin/true"], { stderr: "ignore" }).exitCode,
};
process.stdout.write(JSON.stringify(out));
