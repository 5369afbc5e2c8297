// The OCI runtime command line (`mydocker oci ...`, or the binary called `mydocker-runc`), modelled
// on the runtime-spec's lifecycle (runtime.md): create -> created (parked before execve), start ->
// running, the process exits -> stopped, delete -> gone; the errors for an operation in the wrong
// state; exec, kill, pause/resume, update, hooks, and a config handed over as another engine would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, MYDOCKER, ROOTFS, testEnv } from "./helpers";

let dir: string;
let root: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mydocker-oci-"));
  root = join(dir, "state");
  symlinkSync(MYDOCKER, join(dir, "mydocker-runc"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
checkHostAroundEachTest(async () => {
  // every OCI container of a test is deleted by it
  expect((await oci(["list", "-q"])).stdout).toBe("");
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let calls = 0;
/**
 * `mydocker-runc --root ROOT ARGS` (through the symlink: argv[0] picks the OCI command table).
 * Output goes to files, not pipes: a created container's init keeps the runtime's stdio (as with
 * runc), so a pipe would stay open as long as the container lives.
 */
async function oci(args: string[], opts: { via?: "symlink" | "subcommand" } = {}): Promise<Result> {
  const argv = opts.via === "subcommand" ? [MYDOCKER, "oci", "--root", root, ...args] : [join(dir, "mydocker-runc"), "--root", root, ...args];
  const out = join(dir, `out-${++calls}`);
  const err = join(dir, `err-${calls}`);
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err), env: testEnv(), timeout: 30_000 });
  const code = await proc.exited;
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { code, stdout: read(out), stderr: read(err) };
}

/** A bundle from `spec`, on the project's rootfs (read-only: nothing may change it), running `args`. */
async function bundle(name: string, args: string[], edit: (c: Record<string, any>) => void = () => {}): Promise<string> {
  const b = join(dir, name);
  Bun.spawnSync(["mkdir", "-p", b]);
  expect((await oci(["spec", "--bundle", b])).code).toBe(0);
  const config = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  config.root = { path: ROOTFS, readonly: true };
  config.process.terminal = false;
  config.process.args = args;
  edit(config);
  writeFileSync(join(b, "config.json"), JSON.stringify(config));
  return b;
}

const state = async (id: string) => JSON.parse((await oci(["state", id])).stdout) as { status: string; pid: number; id: string; bundle: string };

async function until(what: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

describe("lifecycle", () => {
  test("create parks the init (created, pid file written), start runs the command, it exits (stopped), delete removes it", async () => {
    const b = await bundle("life", ["sh", "-c", "echo ran > /dev/shm/x; cat /dev/shm/x; sleep 0.2"]);
    const pidFile = join(dir, "life.pid");
    const created = await oci(["create", "--bundle", b, "--pid-file", pidFile, "life"]);
    expect(created).toMatchObject({ code: 0, stderr: "" });
    const s1 = await state("life");
    expect(s1).toMatchObject({ id: "life", status: "created", bundle: b });
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(s1.pid);
    // parked before execve: the init is still mydocker, in its own namespaces
    expect(readFileSync(`/proc/${s1.pid}/cmdline`, "utf8")).toContain("init");
    expect(readlinkSync(`/proc/${s1.pid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect((await oci(["start", "life"])).code).toBe(0);
    await until(async () => (await state("life")).status === "stopped");
    expect((await state("life")).pid).toBe(0);
    expect((await oci(["delete", "life"])).code).toBe(0);
    const gone = await oci(["state", "life"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("container does not exist: life");
  });

  test("the wrong state for an operation is an error: start twice, delete running without --force, kill stopped, create an existing id", async () => {
    const b = await bundle("states", ["sleep", "30"]);
    expect((await oci(["create", "--bundle", b, "states"])).code).toBe(0);
    const again = await oci(["create", "--bundle", b, "states"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("container with id exists: states");
    expect((await oci(["start", "states"])).code).toBe(0);
    expect((await state("states")).status).toBe("running");
    const twice = await oci(["start", "states"]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("cannot start a container that is already running");
    const del = await oci(["delete", "states"]);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain("cannot delete container states that is not stopped: running");
    expect((await oci(["kill", "states", "KILL"])).code).toBe(0);
    await until(async () => (await state("states")).status === "stopped");
    const killStopped = await oci(["kill", "states", "TERM"]);
    expect(killStopped.code).toBe(1);
    expect(killStopped.stderr).toContain("container not running");
    const startStopped = await oci(["start", "states"]);
    expect(startStopped.code).toBe(1);
    expect((await oci(["delete", "states"])).code).toBe(0);
  });

  test("delete --force ends a running container; delete of a created one needs no force", async () => {
    const b = await bundle("force", ["sleep", "30"]);
    expect((await oci(["create", "--bundle", b, "force-a"])).code).toBe(0);
    expect((await oci(["create", "--bundle", b, "force-b"])).code).toBe(0);
    expect((await oci(["start", "force-a"])).code).toBe(0);
    const pid = (await state("force-a")).pid;
    expect((await oci(["delete", "--force", "force-a"])).code).toBe(0);
    const createdPid = (await state("force-b")).pid;
    expect((await oci(["delete", "force-b"])).code).toBe(0);
    for (const p of [pid, createdPid]) await until(async () => !existsSync(`/proc/${p}/status`) || readFileSync(`/proc/${p}/status`, "utf8").includes("zombie"));
  });

  test("kill takes numeric and symbolic signals; --all signals every process of the container", async () => {
    const b = await bundle("sigs", ["sh", "-c", "trap 'exit 7' USR1; sleep 30 & wait"]);
    expect((await oci(["create", "--bundle", b, "sigs"])).code).toBe(0);
    expect((await oci(["start", "sigs"])).code).toBe(0);
    expect((await oci(["kill", "sigs", "SIGUSR1"])).code).toBe(0);
    await until(async () => (await state("sigs")).status === "stopped");
    const bad = await oci(["kill", "sigs", "NOPE"]);
    expect(bad.code).toBe(1);
    expect((await oci(["delete", "sigs"])).code).toBe(0);
    expect((await oci(["create", "--bundle", b, "sigs2"])).code).toBe(0);
    expect((await oci(["start", "sigs2"])).code).toBe(0);
    expect((await oci(["kill", "--all", "sigs2", "9"])).code).toBe(0);
    await until(async () => (await state("sigs2")).status === "stopped");
    expect((await oci(["delete", "sigs2"])).code).toBe(0);
  });

  test("run: create + start + wait, with the command's exit code, then delete; --version names the spec", async () => {
    const b = await bundle("run", ["sh", "-c", "echo out; exit 3"]);
    const r = await oci(["run", "--bundle", b, "runner"], { via: "subcommand" });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("out\n");
    expect((await oci(["list", "-q"])).stdout).toBe("");
    const v = await oci(["--version"]);
    expect(v.stdout).toMatch(/^mydocker-runc version .*\nspec: 1\.2\.0\n$/);
  });
});

describe("inside a running container", () => {
  test("exec ARGS and exec --process get the container's namespaces and restrictions; --detach with a pid file", async () => {
    const b = await bundle("exec", ["sleep", "30"]);
    expect((await oci(["create", "--bundle", b, "ex"])).code).toBe(0);
    expect((await oci(["start", "ex"])).code).toBe(0);
    const pid = (await state("ex")).pid;
    const r = await oci(["exec", "ex", "sh", "-c", "echo $$; grep -E 'CapEff|NoNewPrivs' /proc/self/status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\n$/);
    const procFile = join(dir, "process.json");
    writeFileSync(procFile, JSON.stringify({ args: ["sh", "-c", "id -u; exit 4"], env: ["PATH=/bin"], cwd: "/tmp", user: { uid: 1000, gid: 1000 } }));
    const p = await oci(["exec", "--process", procFile, "ex"]);
    expect(p).toMatchObject({ code: 4, stdout: "1000\n" });
    const pidFile = join(dir, "exec.pid");
    expect((await oci(["exec", "--detach", "--pid-file", pidFile, "ex", "sleep", "20"])).code).toBe(0);
    const execPid = Number(readFileSync(pidFile, "utf8"));
    expect(readlinkSync(`/proc/${execPid}/ns/mnt`)).toBe(readlinkSync(`/proc/${pid}/ns/mnt`));
    const ps = await oci(["ps", "--format", "json", "ex"]);
    expect(JSON.parse(ps.stdout)).toEqual(expect.arrayContaining([pid, execPid]));
    expect((await oci(["delete", "--force", "ex"])).code).toBe(0);
  });

  test("pause and resume freeze and thaw it; update writes new limits into its cgroup", async () => {
    const b = await bundle("pause", ["sleep", "30"]);
    expect((await oci(["create", "--bundle", b, "pz"])).code).toBe(0);
    expect((await oci(["start", "pz"])).code).toBe(0);
    expect((await oci(["pause", "pz"])).code).toBe(0);
    expect((await state("pz")).status).toBe("paused");
    expect((await oci(["resume", "pz"])).code).toBe(0);
    expect((await state("pz")).status).toBe("running");
    const res = join(dir, "res.json");
    writeFileSync(res, JSON.stringify({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } }));
    expect((await oci(["update", "--resources", res, "pz"])).code).toBe(0);
    const pid = (await state("pz")).pid;
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const memLine = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => (v2 ? l.startsWith("0::") : /:memory:/.test(l)))!;
    const memDir = v2 ? `/sys/fs/cgroup${memLine.split(":")[2]}` : `/sys/fs/cgroup/memory${memLine.split(":")[2]}`;
    expect(readFileSync(join(memDir, v2 ? "memory.max" : "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
    expect((await oci(["update", "--pids-limit", "40", "pz"])).code).toBe(0);
    expect((await oci(["delete", "--force", "pz"])).code).toBe(0);
  });
});

describe("configs as engines send them", () => {
  test("hooks run with the state on stdin, in order; a failing prestart hook fails create and leaves nothing", async () => {
    const log = join(dir, "hooks.log");
    const hook = join(dir, "hook.sh");
    writeFileSync(hook, `#!/bin/sh\necho "$1 $(cat | tr -d '\\n' | sed 's/.*"status": *"\\([a-z]*\\)".*/\\1/')" >> ${log}\n`);
    chmodSync(hook, 0o755);
    const h = (name: string) => [{ path: hook, args: [hook, name] }];
    const b = await bundle("hooks", ["true"], (c) => {
      c.hooks = { prestart: h("prestart"), createRuntime: h("createRuntime"), createContainer: h("createContainer"), startContainer: h("startContainer"), poststart: h("poststart"), poststop: h("poststop") };
    });
    expect((await oci(["create", "--bundle", b, "hk"])).code).toBe(0);
    expect((await oci(["start", "hk"])).code).toBe(0);
    await until(async () => (await state("hk")).status === "stopped");
    expect((await oci(["delete", "hk"])).code).toBe(0);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["prestart created", "createRuntime created", "createContainer created", "startContainer created", "poststart running", "poststop stopped"]);
    const bad = await bundle("badhook", ["true"], (c) => {
      c.hooks = { prestart: [{ path: "/bin/false" }] };
    });
    const r = await oci(["create", "--bundle", bad, "bh"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("prestart hook /bin/false: exit status 1");
    expect(existsSync(join(root, "bh"))).toBe(false);
  });

  test("a container joins another's network and IPC namespaces by path (a pod), and has its own cgroupsPath", async () => {
    const b = await bundle("infra", ["sleep", "30"]);
    expect((await oci(["create", "--bundle", b, "pod-infra"])).code).toBe(0);
    expect((await oci(["start", "pod-infra"])).code).toBe(0);
    const infra = (await state("pod-infra")).pid;
    const member = await bundle("member", ["sleep", "30"], (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "network" || n.type === "ipc" ? { ...n, path: `/proc/${infra}/ns/${n.type === "network" ? "net" : "ipc"}` } : n));
    });
    expect((await oci(["create", "--bundle", member, "pod-member"])).code).toBe(0);
    expect((await oci(["start", "pod-member"])).code).toBe(0);
    const m = (await state("pod-member")).pid;
    const ns = (pid: number, t: string) => readlinkSync(`/proc/${pid}/ns/${t}`);
    expect(ns(m, "net")).toBe(ns(infra, "net"));
    expect(ns(m, "ipc")).toBe(ns(infra, "ipc"));
    expect(ns(m, "mnt")).not.toBe(ns(infra, "mnt"));
    expect(ns(m, "pid")).not.toBe(ns(infra, "pid"));
    for (const id of ["pod-member", "pod-infra"]) expect((await oci(["delete", "--force", id])).code).toBe(0);
  });

  test("what mydocker cannot do is one clear error, and --log-format json leaves it in --log for the engine", async () => {
    const logFile = join(dir, "runtime.log");
    const userns = await bundle("userns", ["true"], (c) => {
      c.linux.namespaces.push({ type: "user" });
    });
    const r = await oci(["--log", logFile, "--log-format", "json", "create", "--bundle", userns, "un"]);
    expect(r.code).toBe(1);
    const last = JSON.parse(readFileSync(logFile, "utf8").trim().split("\n").pop()!);
    expect(last).toMatchObject({ level: "error", msg: expect.stringContaining('namespace "user" is not supported') });
    const idmap = await bundle("idmap", ["true"], (c) => {
      c.mounts.push({ destination: "/mnt", type: "bind", source: "/tmp", options: ["bind", "idmap"] });
    });
    expect((await oci(["create", "--bundle", idmap, "im"])).stderr).toContain("idmapped mounts are not supported");
    expect((await oci(["--systemd-cgroup", "create", "--bundle", idmap, "sd"])).stderr).toContain("systemd cgroup driver is not supported");
    expect((await oci(["create", "--bundle", join(dir, "nope"), "nb"])).stderr).toContain("config.json: ENOENT");
    expect((await oci(["create", "--bundle", idmap, "bad/id"])).stderr).toContain('invalid container id "bad/id"');
    expect(existsSync(root) ? (await oci(["list", "-q"])).stdout : "").toBe("");
  });
});
