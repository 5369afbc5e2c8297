// Device access control: docker's lists, --device parsing, the host's /dev, the v1 semantics
// (checked against the kernel's own devices.list), the v2 BPF program (run by a small
// interpreter over every kind of access, and by the kernel), and both cgroup managers on the
// host's real hierarchies: a child in the container's cgroup can use /dev/null, can mknod any
// node, and cannot open c 1:11 (kmsg) nor a host block device.
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BPF_PROG_TYPE_CGROUP_DEVICE, bpfProgLoad } from "../../ffi/bpf";
import { S_IFBLK, S_IFCHR, mknod } from "../../ffi/fs";
import { detectCgroupVersion, openCgroup, parseSelfCgroup, type Cgroup } from "../../src/cgroups/index.ts";
import { deviceFilter, encode, listing, type Insn } from "../../src/cgroups/device-filter.ts";
import { ACC_MKNOD, ACC_READ, ACC_WRITE, deviceAccessAllowed, effectiveDeviceRules, v1Line } from "../../src/cgroups/device-rules.ts";
import { DEFAULT_DEVICE_RULES, DEFAULT_DEVICES, PRIVILEGED_DEVICE_RULES, hostDevices, parseDeviceFlag } from "../../src/security/devices.ts";
import type { DeviceRule } from "../../src/spec";
import { nodeScratchDir, openableBlockDevice } from "../device-nodes";

const allow = (type: "c" | "b" | "a", major: number | null, minor: number | null, access = "rwm"): DeviceRule => ({ allow: true, type, major, minor, access });
const deny = (type: "c" | "b" | "a", major: number | null, minor: number | null, access = "rwm"): DeviceRule => ({ allow: false, type, major, minor, access });
const lines = (rules: DeviceRule[]) => effectiveDeviceRules(rules).exceptions.map(v1Line);

const block = openableBlockDevice();
/** appended to the names of tests whose block-device checks need one */
const BLOCK_NOTE = block ? "" : " (no openable block device on this machine: block checks left out)";

describe("docker's defaults", () => {
  test("rules: deny all, mknod of anything, rwm of null zero full random urandom tty console ptmx pts tun", () => {
    expect(DEFAULT_DEVICE_RULES[0]).toEqual({ allow: false, access: "rwm" });
    expect(lines(DEFAULT_DEVICE_RULES)).toEqual([
      "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm",
      "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
    ]);
    expect(effectiveDeviceRules(DEFAULT_DEVICE_RULES).defaultAllow).toBe(false);
    expect(effectiveDeviceRules(PRIVILEGED_DEVICE_RULES)).toEqual({ defaultAllow: true, exceptions: [] });
  });

  test("nodes: null zero full random urandom tty, char, 0666, each one allowed by the rules", () => {
    expect(DEFAULT_DEVICES.map((d) => `${d.path} ${d.type} ${d.major}:${d.minor} ${d.fileMode!.toString(8)}`)).toEqual([
      "/dev/null c 1:3 666", "/dev/zero c 1:5 666", "/dev/full c 1:7 666", "/dev/random c 1:8 666", "/dev/urandom c 1:9 666", "/dev/tty c 5:0 666",
    ]);
    const eff = effectiveDeviceRules(DEFAULT_DEVICE_RULES);
    for (const d of DEFAULT_DEVICES) expect(deviceAccessAllowed(eff, "c", d.major!, d.minor!, ACC_READ | ACC_WRITE)).toBe(true);
  });
});

describe("--device HOST[:CONTAINER][:PERMISSIONS]", () => {
  test("host path, container path and permissions, docker's way", () => {
    const nul = { type: "c", major: 1, minor: 3, fileMode: statSync("/dev/null").mode & 0o7777, uid: 0, gid: 0 };
    expect(parseDeviceFlag("/dev/null")).toEqual({ device: { path: "/dev/null", ...nul }, rule: allow("c", 1, 3) } as never);
    expect(parseDeviceFlag("/dev/null:/dev/mynull")).toEqual({ device: { path: "/dev/mynull", ...nul }, rule: allow("c", 1, 3) } as never);
    expect(parseDeviceFlag("/dev/null:rw").device.path).toBe("/dev/null");
    expect(parseDeviceFlag("/dev/null:rw").rule.access).toBe("rw");
    expect(parseDeviceFlag("/dev/null:/dev/x:m").rule).toEqual(allow("c", 1, 3, "m"));
    const disk = { major: 254, minor: 0 }; // only stat(2)ed: any numbers do
    const dir = mkdtempSync(join(tmpdir(), "mydocker-dev-"));
    try {
      mknod(`${dir}/disk`, S_IFBLK | 0o600, disk.major, disk.minor);
      symlinkSync(`${dir}/disk`, `${dir}/link`);
      const { device, rule } = parseDeviceFlag(`${dir}/link:/dev/xvda:r`); // a symlink is followed
      expect(device).toEqual({ path: "/dev/xvda", type: "b", major: disk.major, minor: disk.minor, fileMode: 0o600, uid: 0, gid: 0 });
      expect(rule).toEqual(allow("b", disk.major, disk.minor, "r"));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test.each([
    ["/no/such/dev", "ENOENT"],
    ["/etc/passwd", "not a character or block device"],
    ["/dev", "not a character or block device"],
    ["dev/null", "the host path must be absolute"],
    ["/dev/null:dev/x", "the container path must be absolute"],
    ["/dev/null:/dev/x:rwx", 'permissions "rwx" must be a non-empty subset of "rwm"'],
    ["/dev/null:/dev/x:", 'permissions "" must be a non-empty subset of "rwm"'],
    ["/dev/null:/dev/x:rr", 'permissions "rr" must be a non-empty subset of "rwm"'],
    ["/dev/null:/dev/x:r:w", "expected HOST[:CONTAINER][:PERMISSIONS]"],
  ])("%p is refused: %s", (flag, why) => {
    expect(() => parseDeviceFlag(flag)).toThrow(`invalid --device "${flag}": ${why}`);
  });
});

test("hostDevices: char and block nodes, recursively, without pts, shm, mqueue, console, ptmx and symlinks", () => {
  const dev = mkdtempSync(join(tmpdir(), "mydocker-hostdev-"));
  try {
    for (const d of ["pts", "shm", "mqueue", "snd", "net", "input/by-id"]) mkdirSync(join(dev, d), { recursive: true });
    mknod(`${dev}/null`, S_IFCHR, 1, 3);
    chmodSync(`${dev}/null`, 0o666); // past the umask
    mknod(`${dev}/vda`, S_IFBLK, 254, 0);
    chmodSync(`${dev}/vda`, 0o660);
    mknod(`${dev}/net/tun`, S_IFCHR | 0o600, 10, 200);
    mknod(`${dev}/snd/timer`, S_IFCHR | 0o640, 116, 33);
    for (const skipped of ["console", "ptmx", "pts/0", "shm/x", "mqueue/y"]) mknod(`${dev}/${skipped}`, S_IFCHR | 0o600, 5, 1);
    symlinkSync("../../vda", `${dev}/input/by-id/disk`);
    symlinkSync("/proc/self/fd", `${dev}/fd`);
    writeFileSync(`${dev}/regular`, "");
    expect(hostDevices(dev)).toEqual([
      { path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 0 },
      { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/snd/timer", type: "c", major: 116, minor: 33, fileMode: 0o640, uid: 0, gid: 0 },
      { path: "/dev/vda", type: "b", major: 254, minor: 0, fileMode: 0o660, uid: 0, gid: 0 },
    ]);
  } finally {
    rmSync(dev, { recursive: true });
  }
  // and the real one
  const real = hostDevices();
  expect(real.find((d) => d.path === "/dev/null")).toMatchObject({ type: "c", major: 1, minor: 3 });
  expect(real.some((d) => /^\/dev\/(pts|shm|mqueue)\/|^\/dev\/(console|ptmx)$/.test(d.path))).toBe(false);
});

describe("the v1 rule semantics, in memory", () => {
  test("merges, removals (no hole in a wildcard), resets by an 'a' rule", () => {
    expect(lines([allow("c", 1, 3, "r"), allow("c", 1, 3, "w"), allow("b", 8, null, "m")])).toEqual(["c 1:3 rw", "b 8:* m"]);
    expect(lines([allow("c", null, null), deny("c", 1, 3), allow("c", 1, 5, "rw"), deny("c", 1, 5, "w")])).toEqual(["c *:* rwm", "c 1:5 r"]);
    expect(lines([allow("c", 1, 3), deny("a", null, null), allow("c", 1, 5, "m")])).toEqual(["c 1:5 m"]);
    expect(lines([allow("c", 1, 3, "m"), deny("c", 1, 3, "m")])).toEqual([]);
    const open = effectiveDeviceRules([allow("a", null, null), deny("c", 1, 11, "w"), allow("c", 1, 11, "w"), deny("b", null, null, "r")]);
    expect(open).toEqual({ defaultAllow: true, exceptions: [{ type: "b", major: null, minor: null, access: ACC_READ }] });
  });

  test("a check needs one exception that covers all the access (deny mode) or shares a bit (allow mode)", () => {
    const closed = effectiveDeviceRules([allow("c", 1, 3, "r"), allow("c", 1, null, "w")]);
    expect(deviceAccessAllowed(closed, "c", 1, 3, ACC_READ)).toBe(true);
    expect(deviceAccessAllowed(closed, "c", 1, 3, ACC_READ | ACC_WRITE)).toBe(false); // no single entry has both
    expect(deviceAccessAllowed(closed, "b", 1, 3, ACC_READ)).toBe(false);
    const open = effectiveDeviceRules([allow("a", null, null), deny("c", 1, 11, "w")]);
    expect(deviceAccessAllowed(open, "c", 1, 11, ACC_READ)).toBe(true);
    expect(deviceAccessAllowed(open, "c", 1, 11, ACC_READ | ACC_WRITE)).toBe(false);
  });

  test("bad rules are refused", () => {
    expect(() => effectiveDeviceRules([allow("c", 1, 3, "x")])).toThrow('invalid device access "x"');
    expect(() => effectiveDeviceRules([{ allow: true, type: "u" as "c" }])).toThrow('invalid device rule: type "u"');
    expect(() => effectiveDeviceRules([allow("c", 1.5, 3)])).toThrow("invalid device rule: major 1.5");
    expect(() => effectiveDeviceRules([allow("c", 1, 0xffffffff)])).toThrow("invalid device rule: minor 4294967295");
    expect(lines([{ allow: true, type: "c", major: -1 }])).toEqual(["c *:* rwm"]); // runc's -1 and a missing access
  });
});

// ---------------------------------------------------------------- the BPF program

/** Runs a program over one bpf_cgroup_dev_ctx: only the opcodes deviceFilter emits. */
function run(insns: Insn[], ctx: [accessType: number, major: number, minor: number]): number {
  const r = new Array<number>(11).fill(0);
  const mask = (v: number) => v >>> 0;
  for (let pc = 0, steps = 0; steps < 10_000; steps++, pc++) {
    const i = insns[pc];
    if (!i) throw new Error(`fell off the program at ${pc}`);
    const jump = (cond: boolean) => (cond ? (pc += i.off) : undefined);
    switch (i.code) {
      case 0x61: // ldxw dst, [r1 + off]
        if (i.src !== 1 || i.off % 4 !== 0) throw new Error(`load at ${pc}`);
        r[i.dst] = ctx[i.off / 4]!;
        break;
      case 0x54: r[i.dst] = mask(r[i.dst]! & i.imm); break;
      case 0x74: r[i.dst] = mask(r[i.dst]! >>> i.imm); break;
      case 0xb4: r[i.dst] = mask(i.imm); break;
      case 0xbc: r[i.dst] = mask(r[i.src]!); break;
      case 0x56: jump(mask(r[i.dst]!) !== mask(i.imm)); break;
      case 0x5e: jump(mask(r[i.dst]!) !== mask(r[i.src]!)); break;
      case 0x16: jump(mask(r[i.dst]!) === mask(i.imm)); break;
      case 0x95: return r[0]!;
      default: throw new Error(`opcode ${i.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("no exit");
}

const RULE_SETS: [string, DeviceRule[]][] = [
  ["docker's defaults", DEFAULT_DEVICE_RULES],
  ["privileged", PRIVILEGED_DEVICE_RULES],
  ["nothing (deny all)", []],
  ["defaults + --device r of a disk", [...DEFAULT_DEVICE_RULES, allow("b", 254, 0, "r")]],
  ["partial allows", [allow("c", 1, 3, "r"), allow("c", 1, null, "w"), allow("b", null, 0, "mw")]],
  ["allow all but some", [allow("a", null, null), deny("c", 1, 11, "w"), deny("b", 254, null), deny("c", null, 3, "rm")]],
  ["a hole that v1 does not punch", [allow("c", null, null), deny("c", 1, 11)]],
];

describe("the v2 program decides as v1", () => {
  test.each(RULE_SETS)("%s: every type, number and access", (_, rules) => {
    const eff = effectiveDeviceRules(rules);
    const { insns } = deviceFilter(rules);
    let checked = 0;
    for (const [type, bpfType] of [["c", 2], ["b", 1]] as const) {
      for (const major of [0, 1, 5, 10, 136, 254, 4294967294]) {
        for (const minor of [0, 1, 2, 3, 5, 7, 8, 9, 11, 200, 4294967294]) {
          for (let access = 1; access <= 7; access++) {
            const got = run(insns, [((access << 16) | bpfType) >>> 0, major, minor]);
            expect({ type, major, minor, access, allowed: got === 1 }).toEqual({ type, major, minor, access, allowed: deviceAccessAllowed(eff, type, major, minor, access) });
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(2 * 7 * 11 * 7);
  });

  test("docker's defaults: 69 instructions; null rw, mknod of anything; not kmsg, not the disk", () => {
    const { insns, bytes } = deviceFilter(DEFAULT_DEVICE_RULES);
    expect(insns.length).toBe(69);
    expect(bytes.length).toBe(69 * 8);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x61, 0x12, 0, 0, 0, 0, 0, 0])); // r2 = *(u32 *)(r1 + 0)
    expect(listing({ insns, bytes })[insns.length - 2]).toContain("r0 = 0 (default: deny)");
    const rw = (ACC_READ | ACC_WRITE) << 16;
    expect(run(insns, [rw | 2, 1, 3])).toBe(1); // /dev/null
    expect(run(insns, [(ACC_MKNOD << 16) | 2, 1, 11])).toBe(1); // mknod kmsg
    expect(run(insns, [(ACC_READ << 16) | 2, 1, 11])).toBe(0); // open kmsg
    expect(run(insns, [(ACC_MKNOD << 16) | 1, 254, 0])).toBe(1); // mknod disk
    expect(run(insns, [(ACC_READ << 16) | 1, 254, 0])).toBe(0); // read the disk
    expect(run(insns, [rw | 2, 136, 7])).toBe(1); // /dev/pts/7
  });

  test("the kernel's verifier accepts every program; a broken one fails with its log", () => {
    for (const [, rules] of RULE_SETS) {
      const fd = bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, deviceFilter(rules).bytes, "Apache", "mydocker_test");
      expect(fd).toBeGreaterThan(2);
      closeSync(fd);
    }
    const noReturnValue = encode([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0, text: "exit" }]);
    expect(() => bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, noReturnValue, "GPL")).toThrow(/^bpf PROG_LOAD: EACCES \(.*R0 !read_ok/);
  });
});

// ---------------------------------------------------------------- on the host's kernel

/**
 * Starts `sh` blocked on a read, lets `enter` put it in a cgroup, then lets it try: write
 * /dev/null, mknod + open c 1:11 (kmsg), mknod + read a block device (when there is one).
 * Returns "name: ok" or "name: <strerror>" for each.
 */
async function probe(enter: (pid: number) => void): Promise<Record<string, string>> {
  const dir = nodeScratchDir();
  const script = `
    try() { n=$1; shift; if out=$("$@" 2>&1); then echo "$n: ok"; else echo "$n: \${out##*: }"; fi; }
    read x
    try null sh -c 'echo x > /dev/null'
    try mknod-kmsg mknod ${dir}/kmsg c 1 11
    try open-kmsg dd if=${dir}/kmsg of=/dev/null count=0
    ${block ? `try mknod-block mknod ${dir}/block b ${block.major} ${block.minor}` : ""}
    ${block ? `try read-block dd if=${dir}/block of=/dev/null count=1` : ""}`;
  const child = Bun.spawn(["sh", "-c", script], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  try {
    enter(child.pid);
    child.stdin.write("\n");
    child.stdin.end();
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    expect(err).toBe("");
    expect(await child.exited).toBe(0);
    return Object.fromEntries(out.trim().split("\n").map((l) => l.split(": ") as [string, string]));
  } finally {
    child.kill(9);
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const expected = (kmsg: string, blk: string) => ({
  null: "ok", "mknod-kmsg": "ok", "open-kmsg": kmsg, ...(block ? { "mknod-block": "ok", "read-block": blk } : {}),
});
const EPERM = "Operation not permitted";
const REFUSED = expected(EPERM, EPERM);
const ALL_OK = expected("ok", "ok");

test(`the probe itself: outside any device rule, everything works${BLOCK_NOTE}`, async () => {
  expect(await probe(() => {})).toEqual(ALL_OK);
});

/** The container's cgroup, always destroyed; its directories must be gone afterwards. */
async function withCgroup(cg: Cgroup, dirs: () => string[], body: () => Promise<void>): Promise<void> {
  let made: string[] = [];
  try {
    made = dirs();
    await body();
  } finally {
    cg.destroy();
  }
  for (const d of made) expect(existsSync(d)).toBe(false);
}

const V1_DEVICES = "/sys/fs/cgroup/devices";
const hasV1Devices = detectCgroupVersion() === 1 && existsSync(`${V1_DEVICES}/devices.list`);

describe.skipIf(!hasV1Devices)(`real v1 devices hierarchy${hasV1Devices ? "" : " (skipped: no v1 devices controller on this host)"}`, () => {
  test(`devices.list shows exactly docker's exceptions; a child in it is refused kmsg and a block device${BLOCK_NOTE}`, async () => {
    const cg = openCgroup({ id: `dev${randomBytes(5).toString("hex")}` });
    cg.create({ devices: DEFAULT_DEVICE_RULES });
    await withCgroup(cg, () => [join(cg.file("devices.list"), "..")], async () => {
      expect(readFileSync(cg.file("devices.list"), "utf8").trim().split("\n")).toEqual(lines(DEFAULT_DEVICE_RULES));
      expect(await probe((pid) => cg.addProcess(pid))).toEqual(REFUSED);
    });
  });

  test("the kernel's list after each rule set is the in-memory one (what the v2 program is built from)", () => {
    for (const [name, rules] of RULE_SETS) {
      const cg = openCgroup({ id: `dev${randomBytes(5).toString("hex")}` });
      try {
        cg.create({ devices: rules });
        const eff = effectiveDeviceRules(rules);
        const shown = readFileSync(cg.file("devices.list"), "utf8").trim().split("\n").filter(Boolean);
        // in allow mode the kernel shows only "a *:* rwm", not its exceptions
        expect({ name, shown }).toEqual({ name, shown: eff.defaultAllow ? ["a *:* rwm"] : eff.exceptions.map(v1Line) });
      } finally {
        cg.destroy();
      }
    }
  });

  test("a rule the kernel refuses names the file and the line, and nothing is left", () => {
    // a parent that denies everything cannot grant its child anything: EPERM (device_cgroup.c)
    const parent = `/mydocker-devtest-${randomBytes(4).toString("hex")}`;
    mkdirSync(V1_DEVICES + parent);
    try {
      writeFileSync(`${V1_DEVICES}${parent}/devices.deny`, "a");
      const cg = openCgroup({ id: "c1", parent });
      expect(() => cg.create({ memory: { limit: 1 << 24 }, devices: DEFAULT_DEVICE_RULES })).toThrow('write devices.allow: EPERM ("c *:* m")');
      expect(readdirSync(V1_DEVICES + parent, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]); // no leaf
      expect(existsSync(`/sys/fs/cgroup/memory${parent}`)).toBe(false); // rolled back in every hierarchy
    } finally {
      rmdirSync(V1_DEVICES + parent);
    }
  });
});

/** Where a v2 tree is: the host's only one, or the hybrid one beside v1 (this host). */
const V2_ROOT = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].find((r) => existsSync(`${r}/cgroup.controllers`));

describe.skipIf(!V2_ROOT)(`real cgroup2 tree${V2_ROOT ? ` (${V2_ROOT})` : " (skipped: no cgroup2 mount)"}`, () => {
  test(`the v2 manager attaches docker's program: a child is refused kmsg and a block device${BLOCK_NOTE}`, async () => {
    const cg = openCgroup({ id: `dev${randomBytes(5).toString("hex")}`, root: V2_ROOT });
    cg.create({ devices: DEFAULT_DEVICE_RULES });
    await withCgroup(cg, () => [join(cg.file("cgroup.procs"), "..")], async () => {
      expect(await probe((pid) => cg.addProcess(pid))).toEqual(REFUSED);
    });
  });

  test(`privileged: the program allows everything${BLOCK_NOTE}`, async () => {
    const cg = openCgroup({ id: `dev${randomBytes(5).toString("hex")}`, root: V2_ROOT });
    cg.create({ devices: PRIVILEGED_DEVICE_RULES });
    await withCgroup(cg, () => [join(cg.file("cgroup.procs"), "..")], async () => {
      expect(await probe((pid) => cg.addProcess(pid))).toEqual(ALL_OK);
    });
  });

  test.skipIf(!block)(`defaults + --device of a block device for reading: it reads, kmsg still does not open${BLOCK_NOTE}`, async () => {
    const cg = openCgroup({ id: `dev${randomBytes(5).toString("hex")}`, root: V2_ROOT });
    cg.create({ devices: [...DEFAULT_DEVICE_RULES, allow("b", block!.major, block!.minor, "r")] });
    await withCgroup(cg, () => [join(cg.file("cgroup.procs"), "..")], async () => {
      expect(await probe((pid) => cg.addProcess(pid))).toEqual(expected(EPERM, "ok"));
    });
  });
});
