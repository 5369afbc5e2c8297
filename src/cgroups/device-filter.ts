/**
 * The cgroup v2 device controller is a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup (cgroup-v2.rst "Device controller"). It runs on every mknod and every open of a device
 * node by a task of the cgroup, sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
 * u32 minor; }` (access_type = access << 16 | type; include/uapi/linux/bpf.h) in R1, and returns
 * 1 to allow or 0 to refuse (EPERM).
 *
 * The program decides as the v1 controller would after the same rules (device-rules.ts): one
 * block per exception, in list order; all blocks return the opposite of the default, so the first
 * match decides, and the last instruction returns the default. runc's
 * libcontainer/cgroups/devices/devicefilter.go and crun's ebpf.c generate the same shape.
 */
import type { DeviceRule } from "../spec";
import { ACC_ALL, effectiveDeviceRules, v1Line, type DeviceException } from "./device-rules.ts";

// BPF_DEVCG_DEV_* (include/uapi/linux/bpf.h)
const DEV_BLOCK = 1;
const DEV_CHAR = 2;

// Opcodes (Documentation/bpf/standardization/instruction-set.rst): class | op | source.
const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
const ALU32_AND_K = 0x54; // dst = (u32)(dst & imm)
const ALU32_RSH_K = 0x74; // dst = (u32)dst >> imm
const ALU32_MOV_K = 0xb4; // dst = (u32)imm
const ALU32_MOV_X = 0xbc; // dst = (u32)src
const JMP32_JNE_K = 0x56; // if (u32)dst != (u32)imm goto pc + 1 + off
const JMP32_JNE_X = 0x5e; // if (u32)dst != (u32)src goto ...
const JMP32_JEQ_K = 0x16; // if (u32)dst == (u32)imm goto ...
const JMP_EXIT = 0x95; // return r0

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** what it does, for listings and error messages */
  text: string;
}

export interface DeviceFilter {
  insns: Insn[];
  /** struct bpf_insn[] as the kernel reads it */
  bytes: Buffer;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number, text: string): Insn => ({ code, dst, src, off, imm, text });
const NEXT = -1; // placeholder offset of "goto the next block", patched when the block is closed

/** R2 = type, R3 = access, R4 = major, R5 = minor. */
function prologue(): Insn[] {
  return [
    insn(LDX_MEM_W, 2, 1, 0, 0, "r2 = ctx->access_type"),
    insn(ALU32_AND_K, 2, 0, 0, 0xffff, "r2 &= 0xffff (type)"),
    insn(LDX_MEM_W, 3, 1, 0, 0, "r3 = ctx->access_type"),
    insn(ALU32_RSH_K, 3, 0, 0, 16, "r3 >>= 16 (access)"),
    insn(LDX_MEM_W, 4, 1, 4, 0, "r4 = ctx->major"),
    insn(LDX_MEM_W, 5, 1, 8, 0, "r5 = ctx->minor"),
  ];
}

/** One exception: jumps to the next block unless it matches, else returns `verdict`. */
function block(e: DeviceException, defaultAllow: boolean): Insn[] {
  const verdict = defaultAllow ? 0 : 1;
  const out: Insn[] = [insn(JMP32_JNE_K, 2, 0, NEXT, e.type === "b" ? DEV_BLOCK : DEV_CHAR, `${v1Line(e)}: type != ${e.type} -> next`)];
  if (e.access !== ACC_ALL) {
    out.push(insn(ALU32_MOV_X, 1, 3, 0, 0, "r1 = r3"), insn(ALU32_AND_K, 1, 0, 0, e.access, `r1 &= ${e.access}`));
    // default deny: an allowed exception must cover all the access asked for (v1 match_exception);
    // default allow: a denied exception applies when it shares one bit (match_exception_partial)
    if (defaultAllow) out.push(insn(JMP32_JEQ_K, 1, 0, NEXT, 0, "no access in common -> next"));
    else out.push(insn(JMP32_JNE_X, 1, 3, NEXT, 0, "access not covered -> next"));
  }
  if (e.major !== null) out.push(insn(JMP32_JNE_K, 4, 0, NEXT, e.major | 0, `major != ${e.major} -> next`));
  if (e.minor !== null) out.push(insn(JMP32_JNE_K, 5, 0, NEXT, e.minor | 0, `minor != ${e.minor} -> next`));
  out.push(insn(ALU32_MOV_K, 0, 0, 0, verdict, `r0 = ${verdict}`), insn(JMP_EXIT, 0, 0, 0, 0, "return r0"));
  // every jump goes to the instruction right after the block
  return out.map((i, at) => (i.off === NEXT ? { ...i, off: out.length - at - 1 } : i));
}

/** The program for `rules` (applied after an implicit "deny all", as the v1 manager does). */
export function deviceFilter(rules: DeviceRule[]): DeviceFilter {
  const { defaultAllow, exceptions } = effectiveDeviceRules(rules);
  const verdict = defaultAllow ? 1 : 0;
  const insns = [
    ...prologue(),
    ...exceptions.flatMap((e) => block(e, defaultAllow)),
    insn(ALU32_MOV_K, 0, 0, 0, verdict, `r0 = ${verdict} (default: ${defaultAllow ? "allow" : "deny"})`),
    insn(JMP_EXIT, 0, 0, 0, 0, "return r0"),
  ];
  return { insns, bytes: encode(insns) };
}

export function encode(insns: Insn[]): Buffer {
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    out.writeUInt8(i.code, n * 8);
    out.writeUInt8((i.src << 4) | i.dst, n * 8 + 1);
    out.writeInt16LE(i.off, n * 8 + 2);
    out.writeInt32LE(i.imm | 0, n * 8 + 4);
  });
  return out;
}

/** "  7: 56 02 +4 2   c *:* m: type != c -> next" — for reports and debugging. */
export function listing(filter: DeviceFilter): string[] {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return filter.insns.map((i, n) => `${String(n).padStart(3)}: ${hex(i.code)} ${hex((i.src << 4) | i.dst)} ${String(i.off).padStart(3)} ${String(i.imm).padStart(6)}   ${i.text}`);
}
