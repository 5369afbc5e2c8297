// bpf(2): load an eBPF program and attach it to a cgroup. glibc has no wrapper; syscall by
// number (x86_64: 321, arm64 and the generic table: 280). `union bpf_attr` is laid out by hand
// from include/uapi/linux/bpf.h; the kernel zero-fills what a shorter attr leaves out.
import { closeSync, constants, openSync } from "node:fs";
import { FFIType, check, lastErrno, libc, ptr } from "./libc";
import { SyscallError } from "./errno";

const sym = libc({
  syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
});

const SYS_bpf = process.arch === "x64" ? 321 : 280;

// enum bpf_cmd
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
// enum bpf_prog_type / enum bpf_attach_type
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** several programs may be attached to one cgroup; all of them (and the ancestors') must allow */
export const BPF_F_ALLOW_MULTI = 2;

/** 128 bytes hold every field we set; a kernel with a longer union zero-fills the rest. */
const ATTR_SIZE = 128;
/** One instruction: u8 code, u8 dst_reg:4 src_reg:4, s16 off, s32 imm (struct bpf_insn). */
export const INSN_SIZE = 8;
const LOG_SIZE = 64 * 1024;

function bpf(cmd: number, attr: Buffer, name: string): number {
  return check(name, sym().syscall(SYS_bpf, cmd, attr, ATTR_SIZE));
}

/**
 * BPF_PROG_LOAD: returns the program's fd (close it once attached: the attachment holds its own
 * reference). `insns` is the encoded program (8 bytes per instruction). On failure the load is
 * tried again with the verifier's log, and its last lines go into the error: "bpf PROG_LOAD:
 * EACCES (R0 !read_ok ...)". Without a log a valid program never fails for a too-small buffer.
 */
export function bpfProgLoad(progType: number, insns: Buffer, license: string, name = ""): number {
  if (insns.length === 0 || insns.length % INSN_SIZE !== 0) throw new Error(`bpf PROG_LOAD: ${insns.length} bytes is not a whole number of instructions`);
  const lic = Buffer.from(`${license}\0`);
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(progType, 0); // prog_type
  attr.writeUInt32LE(insns.length / INSN_SIZE, 4); // insn_cnt
  attr.writeBigUInt64LE(BigInt(ptr(insns)), 8); // insns
  attr.writeBigUInt64LE(BigInt(ptr(lic)), 16); // license
  // prog_name[16] at 48: shown by `bpftool prog`; [A-Za-z0-9_.], 15 characters at most
  attr.write(name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15), 48, "latin1");
  const rc = sym().syscall(SYS_bpf, BPF_PROG_LOAD, attr, ATTR_SIZE);
  const first = rc === -1n ? lastErrno() : 0;
  keepAlive(insns, lic);
  if (rc !== -1n) return Number(rc);

  const log = Buffer.alloc(LOG_SIZE);
  attr.writeUInt32LE(1, 24); // log_level
  attr.writeUInt32LE(LOG_SIZE, 28); // log_size
  attr.writeBigUInt64LE(BigInt(ptr(log)), 32); // log_buf
  const again = sym().syscall(SYS_bpf, BPF_PROG_LOAD, attr, ATTR_SIZE);
  const errno = again === -1n ? lastErrno() : first;
  if (again !== -1n) closeSync(Number(again)); // loaded the second time: keep the first failure
  const text = log.subarray(0, Math.max(0, log.indexOf(0))).toString("utf8");
  // the verifier's complaint is at the end, followed by its statistics ("processed N insns ...")
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !/^(processed|verification time|stack depth) /.test(l));
  keepAlive(insns, lic, log);
  throw new SyscallError("bpf PROG_LOAD", errno, lines.length ? lines.slice(-3).join("; ") : undefined);
}

/** BPF_PROG_ATTACH of `progFd` to the cgroup directory `cgroupDir` (cgroup v2). */
export function bpfProgAttachCgroup(progFd: number, cgroupDir: string, attachType: number, flags: number): void {
  const dirFd = openSync(cgroupDir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(dirFd, 0); // target_fd
    attr.writeUInt32LE(progFd, 4); // attach_bpf_fd
    attr.writeUInt32LE(attachType, 8); // attach_type
    attr.writeUInt32LE(flags, 12); // attach_flags
    bpf(BPF_PROG_ATTACH, attr, `bpf PROG_ATTACH ${cgroupDir}`);
  } finally {
    closeSync(dirFd);
  }
}

/** A use after the call: buffers whose addresses the kernel read must not be collected before it
 *  (the attr holds their addresses as plain numbers, which the GC does not follow). */
function keepAlive(..._buffers: Buffer[]): void {}
