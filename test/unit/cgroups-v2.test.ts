// cgroup v2 manager on a FAKE tree: plain directories and regular files standing in for cgroupfs.
// The fake kernel does nothing by itself (no cgroup.controllers in new dirs, no EBUSY), so the
// tests assert exactly what the manager writes. Real v2 behaviour is covered by the VM suite.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroupVersion, openCgroup } from "../../src/cgroups/index.ts";
import { sharesToWeight } from "../../src/cgroups/cpu-weight.ts";
import { DEFAULT_DEVICE_RULES } from "../../src/security/devices.ts";

// pids above the kernel's PID_MAX_LIMIT (4194304): never a real process, so kill() is harmless.
const P1 = 5000001;
const P2 = 5000002;
const SESSION = "/user.slice/session-1.scope";

let root: string;

/** a cgroup dir with the given kernel-owned files */
function fakeDir(rel: string, files: Record<string, string> = {}): string {
  const dir = join(root, rel);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
const read = (rel: string) => readFileSync(join(root, rel), "utf8");

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "mydocker-cg2-"));
  fakeDir("/", {
    "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
    "cgroup.subtree_control": "cpuset cpu io memory pids\n",
    "cgroup.procs": "1\n",
  });
  fakeDir("/user.slice", {
    "cgroup.controllers": "cpuset cpu io memory pids\n",
    "cgroup.subtree_control": "cpu memory pids\n",
    "cgroup.procs": "",
  });
  // systemd enabled no cpuset below user.slice; the session scope holds our shell and us
  fakeDir(SESSION, {
    "cgroup.controllers": "cpu memory pids\n",
    "cgroup.subtree_control": "\n",
    "cgroup.procs": `${P1}\n${P2}\n`,
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
  });
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

test("detectCgroupVersion: cgroup.controllers at the root means v2, otherwise v1", () => {
  expect(detectCgroupVersion(root)).toBe(2);
  const v1root = mkdtempSync(join(tmpdir(), "mydocker-cg1-"));
  try {
    mkdirSync(join(v1root, "memory"));
    expect(detectCgroupVersion(v1root)).toBe(1);
  } finally {
    rmSync(v1root, { recursive: true, force: true });
  }
  expect(detectCgroupVersion()).toBe(existsSync("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1);
});

test("sharesToWeight: runc/crun curve fixed points", () => {
  expect(sharesToWeight(2)).toBe(1);
  expect(sharesToWeight(1024)).toBe(100);
  expect(sharesToWeight(262144)).toBe(10000);
  expect(sharesToWeight(512)).toBe(59);
  expect(sharesToWeight(0)).toBe(1);
  expect(sharesToWeight(1 << 20)).toBe(10000);
});

test("default placement under the own cgroup, limits, and moving the own cgroup's processes out", () => {
  const cg = openCgroup({ id: "c1", root, selfCgroup: `0::${SESSION}\n` });
  expect(cg.version).toBe(2);
  expect(cg.path).toBe(`${SESSION}/mydocker/c1`);
  expect(existsSync(join(root, SESSION, "mydocker"))).toBe(false); // nothing until create()

  cg.create({
    memory: { limit: 64 * 1024 * 1024 },
    cpu: { shares: 1024, quota: 50000, period: 100000 },
    pids: { limit: 100 },
  });

  // no-internal-process rule: the session's processes went to a sibling leaf BEFORE enabling
  expect(read(`${SESSION}/mydocker-host/cgroup.procs`)).toBe(`${P1}\n${P2}\n`);
  // only what the own cgroup offers (no cpuset), from the own cgroup down to the leaf's parent
  expect(read(`${SESSION}/cgroup.subtree_control`)).toBe("+cpu +memory +pids");
  expect(read(`${SESSION}/mydocker/cgroup.subtree_control`)).toBe("+cpu +memory +pids");
  // levels above the own cgroup are left alone
  expect(read("/user.slice/cgroup.subtree_control")).toBe("cpu memory pids\n");
  expect(read("/cgroup.subtree_control")).toBe("cpuset cpu io memory pids\n");
  // the leaf never gets subtree_control (it holds the container's processes)
  const leaf = `${SESSION}/mydocker/c1`;
  expect(existsSync(join(root, leaf, "cgroup.subtree_control"))).toBe(false);
  expect(read(`${leaf}/memory.max`)).toBe("67108864");
  expect(read(`${leaf}/cpu.weight`)).toBe("100");
  expect(read(`${leaf}/cpu.max`)).toBe("50000 100000");
  expect(read(`${leaf}/pids.max`)).toBe("100");
  expect(existsSync(join(root, leaf, "cpuset.cpus"))).toBe(false); // only what was asked

  cg.destroy();
  expect(existsSync(join(root, SESSION, "mydocker"))).toBe(false);
  expect(existsSync(join(root, SESSION, "mydocker-host"))).toBe(true); // outlives the container
  expect(existsSync(join(root, SESSION))).toBe(true);
});

test("a mydocker started from <own>/mydocker-host places containers under <own> again", () => {
  const cg = openCgroup({ id: "c2", root, selfCgroup: `0::${SESSION}/mydocker-host\n` });
  expect(cg.path).toBe(`${SESSION}/mydocker/c2`);
});

test("controllers already enabled and no processes: nothing is moved or rewritten", () => {
  writeFileSync(join(root, SESSION, "cgroup.subtree_control"), "cpu memory pids\n");
  writeFileSync(join(root, SESSION, "cgroup.procs"), "");
  fakeDir(`${SESSION}/mydocker`, { "cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "cpu memory pids\n" });
  const cg = openCgroup({ id: "c3", root, selfCgroup: `0::${SESSION}\n` });
  cg.create({ memory: { limit: 1 << 20 } });
  expect(existsSync(join(root, SESSION, "mydocker-host"))).toBe(false);
  expect(read(`${SESSION}/cgroup.subtree_control`)).toBe("cpu memory pids\n");
  expect(read(`${SESSION}/mydocker/cgroup.subtree_control`)).toBe("cpu memory pids\n");
  expect(read(`${SESSION}/mydocker/c3/memory.max`)).toBe("1048576");
  cg.destroy();
  // `mydocker` pre-existed, but it is the shared dir: removed once it is empty
  expect(existsSync(join(root, SESSION, "mydocker"))).toBe(false);
});

test("own cgroup is the root: the root's files and processes are never touched", () => {
  const cg = openCgroup({ id: "c4", root, selfCgroup: "0::/\n" });
  expect(cg.path).toBe("/mydocker/c4");
  cg.create({ cpu: { cpus: "0-1", mems: "0" } });
  expect(read("/cgroup.subtree_control")).toBe("cpuset cpu io memory pids\n");
  expect(read("/cgroup.procs")).toBe("1\n");
  expect(existsSync(join(root, "mydocker-host"))).toBe(false);
  expect(read("/mydocker/cgroup.subtree_control")).toBe("+cpuset +cpu +io +memory +pids");
  expect(read("/mydocker/c4/cpuset.cpus")).toBe("0-1");
  expect(read("/mydocker/c4/cpuset.mems")).toBe("0");
  cg.destroy();
  expect(existsSync(join(root, "mydocker"))).toBe(false);
});

test("own cgroup is the root and nothing enabled its controllers (no systemd): enabled there, processes stay", () => {
  // a freshly booted pure-v2 machine without an init system: the root's subtree_control is empty
  writeFileSync(join(root, "cgroup.subtree_control"), "\n");
  const cg = openCgroup({ id: "c4b", root, selfCgroup: "0::/\n" });
  cg.create({ memory: { limit: 1 << 20 }, pids: { limit: 5 } });
  expect(read("/cgroup.subtree_control")).toBe("+cpuset +cpu +io +memory +pids");
  expect(read("/cgroup.procs")).toBe("1\n"); // the root is exempt from no-internal-processes
  expect(existsSync(join(root, "mydocker-host"))).toBe(false);
  expect(read("/mydocker/c4b/memory.max")).toBe("1048576");
  expect(read("/mydocker/c4b/pids.max")).toBe("5");
  cg.destroy();
  expect(existsSync(join(root, "mydocker"))).toBe(false);

  // the same from a session scope: the root (not ours) is never written, so no controller arrives
  writeFileSync(join(root, "cgroup.subtree_control"), "\n");
  writeFileSync(join(root, "user.slice/cgroup.controllers"), "\n");
  writeFileSync(join(root, SESSION, "cgroup.controllers"), "\n");
  const below = openCgroup({ id: "c4c", root, selfCgroup: `0::${SESSION}\n` });
  expect(() => below.create({ memory: { limit: 1 << 20 } })).toThrow("cgroup v2: the memory controller is not available");
  expect(read("/cgroup.subtree_control")).toBe("\n");
});

test("--cgroup-parent: leaf = parent/id, every non-root ancestor enabled, cpu.max forms", () => {
  const cg = openCgroup({ id: "c5", parent: "/mygroup/sub", root, selfCgroup: `0::${SESSION}\n` });
  expect(cg.path).toBe("/mygroup/sub/c5");
  cg.create({ cpu: { quota: 25000 } });
  expect(read("/mygroup/cgroup.subtree_control")).toBe("+cpuset +cpu +io +memory +pids");
  expect(read("/mygroup/sub/cgroup.subtree_control")).toBe("+cpuset +cpu +io +memory +pids");
  expect(read("/mygroup/sub/c5/cpu.max")).toBe("25000"); // a lone number only sets $MAX
  expect(read(`${SESSION}/cgroup.subtree_control`)).toBe("\n"); // own cgroup untouched
  expect(read("/cgroup.subtree_control")).toBe("cpuset cpu io memory pids\n");
  cg.destroy();
  expect(existsSync(join(root, "mygroup"))).toBe(false); // created by this object: removed

  const only = openCgroup({ id: "c6", parent: "/mygroup", root, selfCgroup: `0::${SESSION}\n` });
  only.create({ cpu: { period: 100000, quota: -1 } });
  expect(read("/mygroup/c6/cpu.max")).toBe("max 100000");
  // a fresh object (e.g. `mydocker rm`) removes the leaf but not a parent it did not create
  openCgroup({ id: "c6", parent: "/mygroup", root, selfCgroup: `0::${SESSION}\n` }).destroy();
  expect(existsSync(join(root, "mygroup/c6"))).toBe(false);
  expect(existsSync(join(root, "mygroup"))).toBe(true);
});

test("addProcess, pids, file, setFrozen, oomKilled; destroy is idempotent", () => {
  const cg = openCgroup({ id: "c7", root, selfCgroup: `0::${SESSION}\n` });
  cg.create({});
  const leaf = join(root, SESSION, "mydocker/c7");
  cg.addProcess(P1);
  cg.addProcess(P2);
  expect(cg.pids()).toEqual([P1, P2]);
  expect(cg.file("memory.max")).toBe(join(leaf, "memory.max"));
  cg.setFrozen(true);
  expect(read(`${SESSION}/mydocker/c7/cgroup.freeze`)).toBe("1");
  cg.setFrozen(false);
  expect(read(`${SESSION}/mydocker/c7/cgroup.freeze`)).toBe("0");

  expect(cg.oomKilled()).toBe(false); // no memory.events yet
  writeFileSync(join(leaf, "memory.events"), "low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n");
  expect(cg.oomKilled()).toBe(false);
  writeFileSync(join(leaf, "memory.events"), "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n");
  expect(cg.oomKilled()).toBe(true);

  cg.destroy(); // "kills" P1/P2 (ESRCH, ignored) and removes the dirs
  expect(existsSync(leaf)).toBe(false);
  cg.destroy();
  openCgroup({ id: "never-created", root, selfCgroup: `0::${SESSION}\n` }).destroy();
});

test("failures: unavailable controller rolls back; write errors name file and errno", () => {
  const cg = openCgroup({ id: "c8", root, selfCgroup: `0::${SESSION}\n` });
  // the session scope offers no cpuset
  expect(() => cg.create({ cpu: { cpus: "0" } })).toThrow("cgroup v2: the cpuset controller is not available");
  expect(existsSync(join(root, SESSION, "mydocker"))).toBe(false);

  // a control file that cannot be written: make pids.max a directory in a pre-existing leaf
  fakeDir(`${SESSION}/mydocker/c9/pids.max`);
  const bad = openCgroup({ id: "c9", root, selfCgroup: `0::${SESSION}\n` });
  expect(() => bad.create({ pids: { limit: 5 } })).toThrow(/^write pids\.max: EISDIR$/);
});

test("invalid ids and relative parents are rejected", () => {
  for (const id of ["", ".", "..", "a/b"]) expect(() => openCgroup({ id, root, selfCgroup: "0::/\n" })).toThrow();
  expect(() => openCgroup({ id: "x", parent: "rel", root, selfCgroup: "0::/\n" })).toThrow();
});

test("devices: rules are compiled before anything is made; on a fake tree the attach fails and rolls back", () => {
  const cg = openCgroup({ id: "c10", root, selfCgroup: `0::${SESSION}\n` });
  // a bad rule: refused before any mkdir or subtree_control write
  expect(() => cg.create({ devices: [{ allow: true, type: "c", major: 1, minor: 3, access: "rwx" }] })).toThrow('invalid device access "rwx"');
  expect(existsSync(join(root, SESSION, "mydocker"))).toBe(false);
  expect(read(`${SESSION}/cgroup.subtree_control`)).toBe("\n");
  // the program loads (a real bpf(2) call), but a plain directory is no cgroup to attach it to
  expect(() => cg.create({ memory: { limit: 1 << 20 }, devices: DEFAULT_DEVICE_RULES })).toThrow(
    `bpf PROG_ATTACH ${join(root, SESSION, "mydocker/c10")}: EBADF`,
  );
  expect(existsSync(join(root, SESSION, "mydocker"))).toBe(false);
  // without rules, no program: the fake tree works as before
  cg.create({ memory: { limit: 1 << 20 } });
  expect(read(`${SESSION}/mydocker/c10/memory.max`)).toBe("1048576");
  cg.destroy();
});
