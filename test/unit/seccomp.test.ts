// Seccomp: docker's profile format -> OCI linux.seccomp -> BPF (libseccomp, cached) -> a real
// filter in a child process (test/unit/seccomp-probe.ts) whose raw syscalls show what it allows.
// Filters are loaded only in children, never in the test runner.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SyscallError } from "../../ffi/errno";
import { LIBSECCOMP, openLibseccomp } from "../../ffi/libseccomp";
import { loadSeccompProgram } from "../../ffi/seccomp";
import { canonicalJson, compileSeccomp, seccompCacheKey, seccompLoadFlags, seccompProgram } from "../../src/security/seccomp";
import {
  DEFAULT_PROFILE, parseDockerProfile, toOciSeccomp, type DockerSeccompProfile,
} from "../../src/security/seccomp-profile";
import type { LinuxSeccomp } from "../../src/spec";

/** docker's 14 default capabilities */
const DOCKER_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];
const EPERM = -1;
const ENOENT = -2;
const EINVAL = -22;
const ENOSYS = -38;
const EACCES = -13;
const PROBE = join(import.meta.dir, "seccomp-probe.ts");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mydocker-seccomp-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const allowed = (s: LinuxSeccomp) =>
  new Set((s.syscalls ?? []).filter((r) => r.action === "SCMP_ACT_ALLOW").flatMap((r) => r.names));
const rulesFor = (s: LinuxSeccomp, name: string) => (s.syscalls ?? []).filter((r) => r.names.includes(name));

/** Runs the probe under `bpf` in a fresh bun process; returns its JSON report. */
async function probe(bpf: Buffer, mode = ""): Promise<Record<string, number | string>> {
  const file = join(dir, `p-${Math.random().toString(36).slice(2)}.bpf`);
  writeFileSync(file, bpf);
  const proc = Bun.spawn([process.execPath, PROBE, file, mode, dir], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`probe exited ${code}: ${err}`);
  return JSON.parse(out);
}

describe("the default profile carries docker's facts", () => {
  const oci = toOciSeccomp(DEFAULT_PROFILE, DOCKER_CAPS);

  test("denies with EPERM by default, for x86_64 and its x86 and x32 sub-architectures", () => {
    expect(oci.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(oci.defaultErrnoRet).toBe(1);
    if (process.arch === "x64") expect(oci.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  });

  test("with docker's 14 capabilities it names about 376 syscalls, and none of the privileged ones", () => {
    const names = new Set(oci.syscalls!.flatMap((r) => r.names));
    expect(names.size).toBeGreaterThanOrEqual(370);
    expect(names.size).toBeLessThanOrEqual(380);
    for (const n of ["read", "openat", "execve", "chroot", "arch_prctl", "modify_ldt", "ptrace", "socket", "personality"]) {
      expect(names).toContain(n);
    }
    for (const n of ["mount", "umount2", "unshare", "setns", "keyctl", "add_key", "bpf", "perf_event_open", "kexec_load",
      "init_module", "reboot", "swapon", "acct", "iopl", "settimeofday", "kcmp", "open_by_handle_at", "syslog",
      "set_mempolicy", "vhangup", "userfaultfd", "cacheflush", "s390_runtime_instr"]) {
      expect(names).not.toContain(n);
    }
  });

  test("argument conditions: socket without AF_VSOCK, five personality values, clone without namespace flags, clone3 ENOSYS", () => {
    expect(rulesFor(oci, "socket")).toEqual([
      { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 40, valueTwo: 0, op: "SCMP_CMP_NE" }] },
    ]);
    expect(rulesFor(oci, "personality").map((r) => r.args![0]!.value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
    expect(rulesFor(oci, "clone")).toEqual([{
      names: ["clone"], action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    }]);
    expect(rulesFor(oci, "clone3")).toEqual([{ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }]);
  });

  test("each capability-gated group follows its capability", () => {
    const groups: [string, string[]][] = [
      ["CAP_SYS_ADMIN", ["mount", "umount2", "unshare", "setns", "clone3", "sethostname", "fsopen", "bpf", "perf_event_open", "quotactl"]],
      ["CAP_SYS_BOOT", ["reboot"]],
      ["CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]],
      ["CAP_SYS_PACCT", ["acct"]],
      ["CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]],
      ["CAP_SYS_RAWIO", ["iopl", "ioperm"]],
      ["CAP_SYS_TIME", ["settimeofday", "clock_settime"]],
      ["CAP_SYS_TTY_CONFIG", ["vhangup"]],
      ["CAP_SYS_NICE", ["mbind", "set_mempolicy", "get_mempolicy"]],
      ["CAP_SYSLOG", ["syslog"]],
      ["CAP_BPF", ["bpf"]],
      ["CAP_PERFMON", ["perf_event_open"]],
      ["CAP_DAC_READ_SEARCH", ["open_by_handle_at"]],
    ];
    const without = allowed(toOciSeccomp(DEFAULT_PROFILE, []));
    for (const [cap, names] of groups) {
      const withCap = allowed(toOciSeccomp(DEFAULT_PROFILE, [cap]));
      for (const n of names) {
        expect({ cap, n, allowed: withCap.has(n) }).toEqual({ cap, n, allowed: true });
        expect({ cap, n, allowed: without.has(n) }).toEqual({ cap, n, allowed: false });
      }
    }
    expect(without.has("chroot")).toBe(false);
    expect(allowed(oci).has("chroot")).toBe(true);
  });

  test("CAP_SYS_ADMIN drops the conditional clone and the clone3 ENOSYS rule (docker's excludes)", () => {
    const admin = toOciSeccomp(DEFAULT_PROFILE, [...DOCKER_CAPS, "CAP_SYS_ADMIN"]);
    expect(rulesFor(admin, "clone").every((r) => !r.args)).toBe(true);
    expect(rulesFor(admin, "clone3").map((r) => r.action)).toEqual(["SCMP_ACT_ALLOW"]);
  });

  test("the JSON file passes its own parser", () => {
    const text = readFileSync(join(import.meta.dir, "../../src/security/seccomp-default.json"), "utf8");
    expect(parseDockerProfile(text, "seccomp-default.json")).toEqual(DEFAULT_PROFILE);
  });
});

describe("toOciSeccomp applies includes and excludes as docker does", () => {
  const profile = (syscalls: DockerSeccompProfile["syscalls"]): DockerSeccompProfile => ({ defaultAction: "SCMP_ACT_ERRNO", syscalls });
  const names = (p: DockerSeccompProfile, caps: string[] = []) => [...allowed(toOciSeccomp(p, caps))].sort();

  test("includes.caps needs every cap; excludes.caps drops on any", () => {
    const p = profile([
      { names: ["a"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_X", "CAP_Y"] } },
      { names: ["b"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_X", "CAP_Z"] } },
    ]);
    expect(names(p)).toEqual(["b"]);
    expect(names(p, ["CAP_X"])).toEqual([]);
    expect(names(p, ["CAP_X", "CAP_Y"])).toEqual(["a"]);
    expect(names(p, ["CAP_Y"])).toEqual(["b"]);
    expect(names(p, ["x", "y"])).toEqual(["a"]); // names without CAP_ and in lower case are accepted
  });

  test("arches are docker's (Go) names of the host; minKernel compares with the running kernel", () => {
    const host = process.arch === "x64" ? "amd64" : process.arch;
    const p = profile([
      { names: ["here"], action: "SCMP_ACT_ALLOW", includes: { arches: [host] } },
      { names: ["elsewhere"], action: "SCMP_ACT_ALLOW", includes: { arches: ["s390x"] } },
      { names: ["not-here"], action: "SCMP_ACT_ALLOW", excludes: { arches: [host] } },
      { names: ["old-kernel"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "3.0" } },
      { names: ["future-kernel"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "99.0" } },
      { names: ["until-3.0"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "3.0" } },
      { names: ["until-99"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "99.0" } },
      { name: "single", action: "SCMP_ACT_ALLOW" },
    ]);
    expect(names(p)).toEqual(["here", "old-kernel", "single", "until-99"]);
  });

  test("architectures without archMap pass through; errnoRet and args are kept", () => {
    const oci = toOciSeccomp({
      defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, value: 7, op: "SCMP_CMP_GT" }] }],
    }, []);
    expect(oci).toEqual({
      defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, value: 7, valueTwo: 0, op: "SCMP_CMP_GT" }] }],
    });
  });
});

describe("parseDockerProfile: one-line errors naming the file", () => {
  const cases: [what: string, text: string, message: string][] = [
    ["bad JSON", '{"defaultAction": ', "seccomp profile /etc/p.json: invalid JSON: "],
    ["not an object", "[]", "seccomp profile /etc/p.json: not a JSON object"],
    ["no default action", '{"syscalls": []}', 'seccomp profile /etc/p.json: "defaultAction" is missing'],
    ["unknown default action", '{"defaultAction": "SCMP_ACT_MAYBE"}', 'seccomp profile /etc/p.json: defaultAction: unknown action "SCMP_ACT_MAYBE"'],
    ["unknown rule action", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_FOO"}]}',
      'seccomp profile /etc/p.json: syscalls[0]: unknown action "SCMP_ACT_FOO"'],
    ["unknown operator", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}',
      'seccomp profile /etc/p.json: syscalls[0].args[0]: unknown operator "SCMP_CMP_ABOUT"'],
    ["argument index 6", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
      'seccomp profile /etc/p.json: syscalls[0].args[0]: "index" must be 0 to 5'],
    ["name and names", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ERRNO"}]}',
      'seccomp profile /etc/p.json: syscalls[0]: use either "name" or "names", not both'],
    ["no names", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}',
      "seccomp profile /etc/p.json: syscalls[0]: no syscall names"],
    ["architectures and archMap", '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}',
      'seccomp profile /etc/p.json: use either "architectures" or "archMap", not both'],
    ["errno out of range", '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}',
      "seccomp profile /etc/p.json: defaultErrnoRet must be an errno number from 0 to 4095"],
    ["bad minKernel", '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "new"}}]}',
      'seccomp profile /etc/p.json: syscalls[0]: includes.minKernel "new" is not a kernel version like "4.8"'],
  ];
  for (const [what, text, message] of cases) {
    test(what, () => {
      let err: Error | undefined;
      try {
        parseDockerProfile(text, "/etc/p.json");
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message.startsWith(message)).toBe(true);
      expect(err!.message).not.toContain("\n");
    });
  }
});

describe("compiling OCI linux.seccomp", () => {
  test("unknown action, operator, architecture or flag: clear errors", () => {
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_FOO" }] }))
      .toThrow('seccomp: syscalls[0]: unknown action "SCMP_ACT_FOO"');
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_NOPE" })).toThrow('seccomp: defaultAction: unknown action "SCMP_ACT_NOPE"');
    expect(() => compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_SOON" }] }],
    })).toThrow('seccomp: syscalls[0].args[0]: unknown operator "SCMP_CMP_SOON"');
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] }))
      .toThrow("seccomp: unknown architecture z80");
    expect(() => seccompLoadFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_FAST"] }))
      .toThrow('seccomp: unknown flag "SECCOMP_FILTER_FLAG_FAST"');
    expect(seccompLoadFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] })).toBe(6);
  });

  test("syscall names libseccomp does not know are skipped", () => {
    const rule = (names: string[]): LinuxSeccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names, action: "SCMP_ACT_ERRNO" }] });
    expect(compileSeccomp(rule(["no_such_syscall", "mkdir"]))).toEqual(compileSeccomp(rule(["mkdir"])));
    expect(compileSeccomp(rule(["mkdir"]))).not.toEqual(compileSeccomp(rule(["rmdir"])));
  });

  test("a missing libseccomp is an error naming the package, not an unconfined container", () => {
    expect(() => openLibseccomp("libseccomp-not-installed.so.2")).toThrow(
      `seccomp: ${LIBSECCOMP} not found: install the Debian package libseccomp2`,
    );
  });

  test("loadSeccompProgram refuses what is not a program before calling the kernel", () => {
    expect(() => loadSeccompProgram(Buffer.alloc(12))).toThrow(SyscallError);
    expect(() => loadSeccompProgram(Buffer.alloc(0))).toThrow("seccomp: EINVAL");
  });
});

describe("the BPF cache", () => {
  const config = toOciSeccomp(DEFAULT_PROFILE, DOCKER_CAPS);

  test("written atomically as <sha256>.bpf, 0600 in a 0700 dir; a hit returns the same bytes and rewrites nothing", () => {
    const cache = join(dir, "cache-a", "seccomp");
    const first = seccompProgram(config, cache);
    const key = seccompCacheKey(config);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(cache)).toEqual([`${key}.bpf`]);
    const file = join(cache, `${key}.bpf`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(readFileSync(file).equals(first)).toBe(true);

    const past = new Date("2001-02-03T04:05:06Z");
    utimesSync(file, past, past);
    const again = seccompProgram(config, cache);
    expect(again).toEqual(first);
    expect(statSync(file).mtime.getTime()).toBe(past.getTime());
  });

  test("the key is the config's, whatever the order of its fields; valueTwo 0 is the default", () => {
    const a: LinuxSeccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] };
    const b = JSON.parse('{"syscalls":[{"action":"SCMP_ACT_ALLOW","names":["read"]}],"defaultErrnoRet":1,"defaultAction":"SCMP_ACT_ERRNO"}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(seccompCacheKey(b)).toBe(seccompCacheKey(a));
    expect(seccompCacheKey({ ...a, defaultErrnoRet: 13 })).not.toBe(seccompCacheKey(a));
    const arg = { index: 0, value: 1, op: "SCMP_CMP_EQ" };
    const withArg = (args: NonNullable<LinuxSeccomp["syscalls"]>[number]["args"]): LinuxSeccomp =>
      ({ ...a, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args }] });
    expect(seccompCacheKey(withArg([arg]))).toBe(seccompCacheKey(withArg([{ ...arg, valueTwo: 0 }])));
    expect(seccompCacheKey(withArg([arg]))).not.toBe(seccompCacheKey(withArg([{ ...arg, value: 2 }])));
  });

  test("a damaged cache file is compiled again and replaced", () => {
    const cache = join(dir, "cache-b");
    const good = seccompProgram(config, cache);
    const file = join(cache, `${seccompCacheKey(config)}.bpf`);
    writeFileSync(file, "garbage");
    expect(seccompProgram(config, cache)).toEqual(good);
    expect(readFileSync(file).equals(good)).toBe(true);
  });

  test("a start that hits the cache never maps libseccomp; a miss does", () => {
    const cache = join(dir, "cache-c");
    seccompProgram(config, cache);
    const script = (cacheDir: string) => `
      import { seccompProgram } from ${JSON.stringify(join(import.meta.dir, "../../src/security/seccomp"))};
      const config = ${JSON.stringify(config)};
      const bpf = seccompProgram(config, ${JSON.stringify(cacheDir)});
      const mapped = require("node:fs").readFileSync("/proc/self/maps", "utf8").includes("libseccomp");
      console.log(JSON.stringify({ insns: bpf.length / 8, mapped }));`;
    const run = (cacheDir: string) => {
      const r = Bun.spawnSync([process.execPath, "-e", script(cacheDir)], { stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(r.stderr.toString());
      return JSON.parse(r.stdout.toString());
    };
    const insns = seccompProgram(config, cache).length / 8;
    expect(run(cache)).toEqual({ insns, mapped: false });
    expect(run(join(dir, "cache-d"))).toEqual({ insns, mapped: true });
  });
});

describe.skipIf(process.arch !== "x64")("a loaded filter, in a child process (x86_64 syscall numbers)", () => {
  let admin: Record<string, number | string>;
  let dflt: Record<string, number | string>;
  beforeAll(async () => {
    const cache = join(dir, "cache-load");
    [dflt, admin] = await Promise.all([
      probe(seccompProgram(toOciSeccomp(DEFAULT_PROFILE, DOCKER_CAPS), cache)),
      probe(seccompProgram(toOciSeccomp(DEFAULT_PROFILE, [...DOCKER_CAPS, "CAP_SYS_ADMIN"]), cache)),
    ]);
  });

  test("the default profile allows ordinary work: mkdir, sockets, personality queries, spawning a program", () => {
    expect(dflt.status).toBe("NoNewPrivs:\t0 Seccomp:\t2");
    expect(dflt.mkdirat).toBe(0);
    expect(dflt.socketUnix).toBeGreaterThanOrEqual(0);
    expect(dflt.socketInet6).toBeGreaterThanOrEqual(0);
    expect(dflt.personalityQuery).toBeGreaterThanOrEqual(0);
    expect(dflt.cloneThreadNoSighand).toBe(EINVAL); // allowed by the filter, refused by the kernel
    expect(dflt.spawnTrue).toBe(0);
  });

  test("the default profile denies with EPERM what docker's denies", () => {
    for (const call of ["mount", "unshareNewns", "cloneNewnsFs", "keyctl", "bpf", "perfEventOpen", "kexecLoad",
      "initModule", "personalityReadImpliesExec", "kcmp", "socketVsock"]) {
      expect({ call, result: dflt[call] }).toEqual({ call, result: EPERM });
    }
    expect(dflt.clone3).toBe(ENOSYS);
  });

  test("the filter is inherited across fork and execve: unshare(1) fails in the child's child", () => {
    expect(dflt.spawnUnshareMount).not.toBe(0);
  });

  test("with CAP_SYS_ADMIN, mount, unshare, clone with namespace flags and clone3 reach the kernel", () => {
    expect(admin.mount).toBe(ENOENT);
    expect(admin.unshareNewns).toBe(0);
    expect(admin.cloneNewnsFs).toBe(EINVAL);
    expect(admin.clone3).toBe(EINVAL);
    expect(admin.spawnUnshareMount).toBe(0);
    expect(admin.keyctl).toBe(EPERM); // not in any group
  });

  test("after no_new_privs the same program loads too", async () => {
    const r = await probe(seccompProgram(toOciSeccomp(DEFAULT_PROFILE, DOCKER_CAPS), join(dir, "cache-load")), "nnp");
    expect(r.status).toBe("NoNewPrivs:\t1 Seccomp:\t2");
    expect(r.mount).toBe(EPERM);
    expect(r.mkdirat).toBe(0);
  });

  test("args in one entry are ANDed; the same argument twice makes one rule per comparison (ORed), as runc", async () => {
    const r = await probe(compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        // socket(AF_UNIX, SOCK_DGRAM) only
        { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
          args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
        // personality(0x0400000) or personality(0xffffffff)
        { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
          args: [{ index: 0, value: 0x0400000, op: "SCMP_CMP_EQ" }, { index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] },
        { names: ["mkdirat", "mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 28 },
      ],
    }));
    expect(r.socketUnixDgram).toBe(EACCES);
    expect(r.socketUnix).toBeGreaterThanOrEqual(0);
    expect(r.socketInet).toBeGreaterThanOrEqual(0);
    expect(r.personalityQuery).toBe(EACCES);
    expect(r.personalityReadImpliesExec).toBe(EACCES);
    expect(r.mkdirat).toBe(-28);
  });

  test("SCMP_ACT_KILL_PROCESS ends the process with SIGSYS", async () => {
    const file = join(dir, "kill.bpf");
    writeFileSync(file, compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdirat", "mkdir"], action: "SCMP_ACT_KILL_PROCESS" }],
    }));
    const proc = Bun.spawn([process.execPath, PROBE, file, "", dir], { stdout: "ignore", stderr: "ignore" });
    await proc.exited;
    expect(proc.signalCode).toBe("SIGSYS");
  });
});
