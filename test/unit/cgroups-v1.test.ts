// cgroup v1 manager: FAKE-tree tests (plain dirs/files laid out as `${root}/<controller>`),
// plus one test on the host's real v1 hierarchies.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { detectCgroupVersion, openCgroup } from "../../src/cgroups/index.ts";
import { parseCgroupMounts } from "../../src/cgroups/v1.ts";

const P1 = 5000001; // above PID_MAX_LIMIT: never a real process, so destroy's kill() is harmless
const OWN_MEM = "/process_api/x";
// like this host: only the memory controller places us somewhere other than the root
const SELF = `9:name=systemd:/\n8:pids:/\n6:freezer:/\n4:memory:${OWN_MEM}\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n`;

let root: string;
const read = (rel: string) => readFileSync(join(root, rel), "utf8");
const ls = (rel: string) => readdirSync(join(root, rel)).sort();
const exists = (rel: string) => existsSync(join(root, rel));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mydocker-cg1-"));
  for (const c of ["cpu", "cpuacct", "cpuset", "pids", "freezer"]) mkdirSync(join(root, c));
  mkdirSync(join(root, "memory", OWN_MEM), { recursive: true });
  writeFileSync(join(root, "cpuset/cpuset.cpus"), "0-3\n");
  writeFileSync(join(root, "cpuset/cpuset.mems"), "0\n");
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

test("placement per controller, limits, and the cpuset copy into every new dir", () => {
  const cg = openCgroup({ id: "c1", root, selfCgroup: SELF });
  expect(cg.version).toBe(1);
  expect(cg.path).toBe(`${OWN_MEM}/mydocker/c1`);
  expect(exists("memory/process_api/x/mydocker")).toBe(false); // nothing until create()

  cg.create({
    memory: { limit: 32 * 1024 * 1024 },
    cpu: { shares: 512, quota: 50000, period: 100000 },
    pids: { limit: 50 },
  });

  // exactly the requested files, each in its own hierarchy's leaf
  expect(ls(`memory${OWN_MEM}/mydocker/c1`)).toEqual(["memory.limit_in_bytes"]);
  expect(read(`memory${OWN_MEM}/mydocker/c1/memory.limit_in_bytes`)).toBe("33554432");
  expect(ls("cpu/mydocker/c1")).toEqual(["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"]);
  expect(read("cpu/mydocker/c1/cpu.shares")).toBe("512");
  expect(read("cpu/mydocker/c1/cpu.cfs_period_us")).toBe("100000");
  expect(read("cpu/mydocker/c1/cpu.cfs_quota_us")).toBe("50000");
  expect(read("pids/mydocker/c1/pids.max")).toBe("50");
  expect(ls("cpuacct/mydocker/c1")).toEqual([]);
  expect(ls("freezer/mydocker/c1")).toEqual([]);
  // cpuset: the intermediate dir and the leaf both got the parent's values
  for (const d of ["cpuset/mydocker", "cpuset/mydocker/c1"]) {
    expect(read(`${d}/cpuset.cpus`)).toBe("0-3");
    expect(read(`${d}/cpuset.mems`)).toBe("0");
  }
  // hierarchy roots untouched
  expect(ls("memory")).toEqual(["process_api"]);
  expect(read("cpuset/cpuset.cpus")).toBe("0-3\n");

  cg.destroy();
  for (const d of ["memory/process_api/x/mydocker", "cpu/mydocker", "cpuacct/mydocker", "cpuset/mydocker", "pids/mydocker", "freezer/mydocker"]) {
    expect(exists(d)).toBe(false);
  }
  expect(exists("memory/process_api/x")).toBe(true);
  cg.destroy(); // idempotent
});

test("user cpuset values go to the leaf only; parent's mems copied when not given", () => {
  const cg = openCgroup({ id: "c2", root, selfCgroup: SELF });
  cg.create({ cpu: { cpus: "1" } });
  expect(read("cpuset/mydocker/cpuset.cpus")).toBe("0-3");
  expect(read("cpuset/mydocker/c2/cpuset.cpus")).toBe("1");
  expect(read("cpuset/mydocker/c2/cpuset.mems")).toBe("0");
  expect(exists("cpu/mydocker/c2/cpu.shares")).toBe(false);
  cg.destroy();
});

test("a shared cpuset dir that a concurrent start made but has not filled yet gets the copy before our leaf", () => {
  // the other mydocker made cpuset/mydocker and is about to write its values: until it does, a
  // leaf under it may hold no CPU (the kernel's EACCES, cpusets(7))
  mkdirSync(join(root, "cpuset/mydocker"));
  writeFileSync(join(root, "cpuset/mydocker/cpuset.cpus"), "");
  writeFileSync(join(root, "cpuset/mydocker/cpuset.mems"), "");
  const cg = openCgroup({ id: "c5", root, selfCgroup: SELF });
  cg.create({});
  for (const d of ["cpuset/mydocker", "cpuset/mydocker/c5"]) {
    expect(read(`${d}/cpuset.cpus`)).toBe("0-3");
    expect(read(`${d}/cpuset.mems`)).toBe("0");
  }
  cg.destroy();
});

test("--cgroup-parent: the same parent/id in every hierarchy", () => {
  const cg = openCgroup({ id: "c3", parent: "/mygroup", root, selfCgroup: SELF });
  expect(cg.path).toBe("/mygroup/c3");
  cg.create({ memory: { limit: 4096 * 1024 } });
  expect(read("memory/mygroup/c3/memory.limit_in_bytes")).toBe("4194304");
  expect(read("cpuset/mygroup/cpuset.cpus")).toBe("0-3");
  expect(read("cpuset/mygroup/c3/cpuset.mems")).toBe("0");
  expect(exists("pids/mygroup/c3")).toBe(true);
  cg.destroy();
  expect(exists("memory/mygroup")).toBe(false); // created by this object
});

test("addProcess writes every hierarchy; pids, file, oomKilled, setFrozen", () => {
  const cg = openCgroup({ id: "c4", root, selfCgroup: SELF });
  cg.create({});
  cg.addProcess(P1);
  for (const d of [`memory${OWN_MEM}`, "cpu", "cpuacct", "cpuset", "pids", "freezer"]) {
    expect(read(`${d}/mydocker/c4/cgroup.procs`)).toBe(`${P1}\n`);
  }
  expect(cg.pids()).toEqual([P1]);
  expect(cg.file("tasks")).toBe(join(root, `memory${OWN_MEM}/mydocker/c4/tasks`));
  expect(cg.file("cgroup.procs")).toBe(join(root, `memory${OWN_MEM}/mydocker/c4/cgroup.procs`));
  expect(cg.file("memory.stat")).toBe(join(root, `memory${OWN_MEM}/mydocker/c4/memory.stat`));
  expect(cg.file("cpu.shares")).toBe(join(root, "cpu/mydocker/c4/cpu.shares"));
  expect(cg.file("cpuacct.usage")).toBe(join(root, "cpuacct/mydocker/c4/cpuacct.usage"));
  expect(cg.file("pids.current")).toBe(join(root, "pids/mydocker/c4/pids.current"));

  const oom = join(root, `memory${OWN_MEM}/mydocker/c4/memory.oom_control`);
  writeFileSync(oom, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  expect(cg.oomKilled()).toBe(false);
  writeFileSync(oom, "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  expect(cg.oomKilled()).toBe(true);

  cg.setFrozen(true);
  expect(read("freezer/mydocker/c4/freezer.state")).toBe("FROZEN");
  cg.destroy(); // thaws (a frozen v1 task ignores SIGKILL until thawed), then removes
  expect(exists("freezer/mydocker")).toBe(false);
});

test("mountinfo discovery: co-mounted cpu,cpuacct is one hierarchy", () => {
  const mi = [
    `31 23 0:28 / ${root} rw,relatime - tmpfs tmpfs rw,mode=755`,
    `32 31 0:29 / ${root}/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct`,
    `35 31 0:32 / ${root}/memory rw,relatime - cgroup cgroup rw,memory`,
    `40 31 0:37 / ${root}/systemd rw,relatime - cgroup cgroup rw,name=systemd`,
    `41 31 0:38 / ${root}/unified rw,relatime - cgroup2 cgroup2 rw`,
  ].join("\n");
  const m = parseCgroupMounts(mi);
  expect(m.get("cpu")).toEqual({ mount: `${root}/cpu,cpuacct`, root: "/" });
  expect(m.get("cpuacct")?.mount).toBe(`${root}/cpu,cpuacct`);
  expect(m.has("cpuset")).toBe(false);

  mkdirSync(join(root, "cpu,cpuacct"));
  const self = `4:memory:${OWN_MEM}\n2:cpu,cpuacct:/\n0::/\n`;
  const cg = openCgroup({ id: "c5", root, selfCgroup: self, mountinfo: mi });
  cg.create({ cpu: { shares: 256 } });
  expect(read("cpu,cpuacct/mydocker/c5/cpu.shares")).toBe("256");
  expect(cg.file("cpuacct.usage")).toBe(join(root, "cpu,cpuacct/mydocker/c5/cpuacct.usage"));
  expect(ls("cpuset")).toEqual(["cpuset.cpus", "cpuset.mems"]); // not in mountinfo: unused
  cg.addProcess(P1);
  expect(read("cpu,cpuacct/mydocker/c5/cgroup.procs")).toBe(`${P1}\n`);
  cg.destroy();
  expect(exists("cpu,cpuacct/mydocker")).toBe(false);
});

test("failures roll back what was created and name the file and errno", () => {
  // make pids.max unwritable (a directory) inside a pre-existing pids leaf
  mkdirSync(join(root, "pids/mydocker/c6/pids.max"), { recursive: true });
  const cg = openCgroup({ id: "c6", root, selfCgroup: SELF });
  expect(() => cg.create({ memory: { limit: 1 << 20 }, pids: { limit: 5 } })).toThrow(/^write pids\.max: EISDIR$/);
  expect(exists("memory/process_api/x/mydocker")).toBe(false);
  expect(exists("cpuset/mydocker")).toBe(false);
  expect(exists("cpu/mydocker")).toBe(false);
  expect(exists("pids/mydocker/c6")).toBe(true); // not ours to remove

  rmSync(join(root, "pids"), { recursive: true });
  const nopids = openCgroup({ id: "c7", root, selfCgroup: SELF });
  expect(() => nopids.create({ pids: { limit: 5 } })).toThrow("cgroup v1: the pids controller is not mounted");
  expect(exists("memory/process_api/x/mydocker")).toBe(false);
});

test("devices: deny all, then each rule in order, in the devices hierarchy's leaf only", () => {
  mkdirSync(join(root, "devices"));
  const self = `${SELF}5:devices:/\n`;
  const cg = openCgroup({ id: "c8", root, selfCgroup: self });
  cg.create({
    memory: { limit: 1 << 20 },
    devices: [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "b", major: 8, access: "rm" }, // a missing minor is "*"
      { allow: false, type: "c", major: null, minor: null, access: "w" },
    ],
  });
  // one write per line; the kernel keeps the order across both files, a fake tree per file
  expect(read("devices/mydocker/c8/devices.deny")).toBe("a\na *:* rwm\nc *:* w\n");
  expect(read("devices/mydocker/c8/devices.allow")).toBe("c 1:3 rwm\nb 8:* rm\n");
  expect(ls("cpu/mydocker/c8")).toEqual([]);
  expect(cg.file("devices.list")).toBe(join(root, "devices/mydocker/c8/devices.list"));
  cg.addProcess(P1);
  expect(read("devices/mydocker/c8/cgroup.procs")).toBe(`${P1}\n`);
  cg.destroy();
  expect(exists("devices/mydocker")).toBe(false);

  // no rules: the container still joins the hierarchy (and inherits its parent's list)
  const plain = openCgroup({ id: "c9", root, selfCgroup: self });
  plain.create({});
  expect(ls("devices/mydocker/c9")).toEqual([]);
  plain.destroy();

  // a bad rule is refused before anything is made
  expect(() => plain.create({ devices: [{ allow: true, type: "c", major: 1, minor: 3, access: "rwmx" }] })).toThrow('invalid device access "rwmx"');
  expect(exists("devices/mydocker")).toBe(false);
  expect(exists("memory/process_api/x/mydocker")).toBe(false);
});

test("devices rules without a devices hierarchy are refused, nothing made", () => {
  const cg = openCgroup({ id: "c10", root, selfCgroup: SELF });
  expect(() => cg.create({ devices: [{ allow: false, access: "rwm" }] })).toThrow("cgroup v1: the devices controller is not mounted");
  expect(exists("memory/process_api/x/mydocker")).toBe(false);
});

// The real-kernel test runs only on a v1 (or hybrid) host like this one; the v2 manager is
// covered by the fake-tree tests in cgroups-v2.test.ts and by the VM suite on a pure v2 host.
test.skipIf(detectCgroupVersion() !== 1)("real v1: limits read back, a process joins, destroy removes everything", async () => {
  const id = `t${randomBytes(6).toString("hex")}`;
  const cg = openCgroup({ id });
  let child: ReturnType<typeof Bun.spawn> | undefined;
  try {
    cg.create({
      memory: { limit: 32 * 1024 * 1024 },
      cpu: { cpus: "0", shares: 512, quota: 50000, period: 100000 },
      pids: { limit: 50 },
    });
    const val = (f: string) => readFileSync(cg.file(f), "utf8").trim();
    expect(val("memory.limit_in_bytes")).toBe("33554432");
    expect(val("cpuset.cpus")).toBe("0");
    expect(val("cpuset.mems")).toBe(readFileSync(join(dirname(dirname(cg.file("cpuset.mems"))), "cpuset.mems"), "utf8").trim());
    expect(val("pids.max")).toBe("50");
    expect(val("cpu.shares")).toBe("512");
    expect(val("cpu.cfs_period_us")).toBe("100000");
    expect(val("cpu.cfs_quota_us")).toBe("50000");
    expect(cg.oomKilled()).toBe(false);

    child = Bun.spawn(["sleep", "30"]);
    cg.addProcess(child.pid);
    expect(cg.pids()).toContain(child.pid);
    const procCgroup = readFileSync(`/proc/${child.pid}/cgroup`, "utf8");
    expect(procCgroup).toContain(`:memory:${cg.path}\n`);
    expect(procCgroup).toMatch(new RegExp(`:pids:.*/mydocker/${id}\\n`));

    child.kill(9);
    await child.exited;
    const dirs = ["memory.stat", "cpu.shares", "cpuset.cpus", "pids.max", "freezer.state"].map((f) => dirname(cg.file(f)));
    cg.destroy();
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  } finally {
    child?.kill(9);
    cg.destroy();
  }
});

test("blkio is joined for its counters where it can be; a blkio hierarchy that refuses the mkdir is left out, not an error", () => {
  const self = `${SELF.trimEnd()}\n7:blkio:/\n`;
  mkdirSync(join(root, "blkio"));
  const joined = openCgroup({ id: "b1", root, selfCgroup: self });
  joined.create({});
  expect(exists("blkio/mydocker/b1")).toBe(true);
  expect(joined.selfJoinFiles()).toContain(join(root, "blkio/mydocker/b1/tasks"));
  joined.destroy();
  expect(exists("blkio/mydocker/b1")).toBe(false);

  writeFileSync(join(root, "blkio/mydocker"), ""); // a file where our directory goes: mkdir fails (ENOTDIR)
  const without = openCgroup({ id: "b2", root, selfCgroup: self });
  without.create({ pids: { limit: 10 } });
  expect(read(`pids/mydocker/b2/pids.max`)).toBe("10");
  expect(without.selfJoinFiles()!.some((f) => f.includes("/blkio/"))).toBe(false);
  without.destroy();
});
