// containerd drives mydocker as the runc of its runc shim (containerd-shim-runc-v2 with
// `BinaryName` = <dir>/mydocker-runc, the path Docker and Kubernetes use): a containerd of this
// test's own (config, root, state and socket in a temp dir, started in the background, ended by its
// pid), the busybox image written by `mydocker save` and imported with `ctr images import`, and
// containers run with `ctr run --runc-binary`. The shim calls every command with
// `--root R --log B/log.json --log-format json`, and `ps --format json`; what we get wrong shows
// in containerd's log, which each test reads.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { MNT_DETACH, umount2 } from "../../ffi/mount";
import { hostMounts, mydocker, MYDOCKER, mydockerProcesses, ROOTFS, testEnv } from "./helpers";

const CONTAINERD = Bun.which("containerd");
const CTR = Bun.which("ctr");
const HAVE = CONTAINERD !== null && CTR !== null && Bun.which("containerd-shim-runc-v2") !== null;
/** containerd's namespace for this run: ctr puts each container's cgroup at /<namespace>/<id> */
const NS = `mydocker-e2e-${process.pid}`;
/** the shims' sockets go under /run/containerd/s whatever the config says (containerd 1.6) */
const CONTAINERD_RUN = "/run/containerd";
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

let dir: string;
let runtime: string;
let daemon: Subprocess | undefined;
let image: string;
let runDirExisted = false;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const sock = () => join(dir, "containerd.sock");
const runcRoot = () => join(dir, "runc");
const fifoDir = () => join(dir, "fifo");
const daemonLog = () => join(dir, "containerd.log");
/** the runc shim's flags that make it call us (and keep its records and FIFOs in our dir) */
const shimFlags = () => ["--runc-binary", runtime, "--runc-root", runcRoot(), "--fifo-dir", fifoDir()];

let calls = 0;
/** `ctr -a SOCK -n NS ARGS`, its output in files (a detached task's shim must not hold a pipe of ours). */
async function ctr(args: string[], timeoutMs = 30_000): Promise<Result> {
  const out = join(dir, "out", `${++calls}.out`);
  const err = join(dir, "out", `${calls}.err`);
  const proc = Bun.spawn([CTR!, "-a", sock(), "-n", NS, ...args], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeout: timeoutMs });
  const code = await proc.exited;
  return { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
}

async function ok(args: string[]): Promise<string> {
  const r = await ctr(args);
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function until(what: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(25);
  }
}

/** `ctr task ls`: id -> [pid, status] */
async function tasks(): Promise<Map<string, [number, string]>> {
  const rows = (await ok(["task", "ls"])).trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
  return new Map(rows.map(([id, pid, status]) => [id!, [Number(pid), status!]]));
}

/** Cgroups below /<NS> in every hierarchy: each container's leaf is ours to remove. */
function namespaceCgroups(): string[] {
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup", { withFileTypes: true })) {
    const base = join("/sys/fs/cgroup", h.name, NS);
    if (h.isDirectory() && existsSync(base)) for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) out.push(join(base, e.name));
  }
  return out.sort();
}

/** Records of mydocker-runc under the shim's --root (a directory per container; `seccomp` is a cache). */
function ociRecords(): string[] {
  const root = join(runcRoot(), NS);
  return existsSync(root) ? readdirSync(root).filter((n) => n !== "seccomp") : [];
}

/** The shims we caused (their command line names our socket), and anything else run from our dir. */
function ourProcesses(): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid || Number(e) === daemon?.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(dir)) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

/**
 * What containerd logged since `offset` that says a call of ours failed: the shim's words for a
 * runtime command that exited non-zero (its cleanup's `delete --force`, say: "exit status 1:
 * mydocker-runc: ..."), and errors other than the shim's own "copy shim log" (which follows any
 * failed create, runc's too). Not "exit status 255" with no output: the shim's cleanup process
 * (`containerd-shim-runc-v2 delete`) reports that now and then for a `delete --force` that, traced
 * with strace, exited 0 and wrote nothing — its reaper's race, not our exit (we exit 0 or 1).
 */
function daemonErrors(offset: number): string[] {
  const text = readFileSync(daemonLog()).subarray(offset).toString();
  return text.split("\n").filter((l) => /did not terminate successfully: (?!exit status 255: \\")|level=error msg="(?!copy shim log)/.test(l));
}

describe.skipIf(!HAVE)(HAVE ? "containerd's runc shim with mydocker-runc as its runc" : "containerd with mydocker-runc (containerd, ctr or containerd-shim-runc-v2 not installed)", () => {
  beforeAll(async () => {
    runDirExisted = existsSync(CONTAINERD_RUN);
    dir = mkdtempSync(join(tmpdir(), "mydocker-containerd-"));
    mkdirSync(join(dir, "out"));
    runtime = join(dir, "mydocker-runc");
    symlinkSync(MYDOCKER, runtime);
    // Only what ctr needs: no CRI, no snapshotters that probe the host, no /opt plugin dir.
    writeFileSync(join(dir, "config.toml"), [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]',
      "[grpc]",
      `  address = "${sock()}"`,
      "[ttrpc]",
      `  address = "${sock()}.ttrpc"`,
      "[debug]",
      '  address = ""',
      "[metrics]",
      '  address = ""',
    ].join("\n") + "\n");
    daemon = Bun.spawn([CONTAINERD!, "--config", join(dir, "config.toml")], {
      stdin: "ignore", stdout: "ignore", stderr: Bun.file(daemonLog()), env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    await until(async () => existsSync(sock()) && (await ctr(["version"])).code === 0, 15_000);
    // the image: ours, written by `mydocker save` (an OCI layout with docker's manifest.json)
    const imported = await mydocker(["import", ROOTFS, "busybox:latest"]);
    if (imported.code !== 0) throw new Error(`mydocker import: ${imported.stderr}`);
    const tar = join(dir, "busybox.tar");
    const save = Bun.spawn([MYDOCKER, "save", "busybox:latest"], { stdout: Bun.file(tar), stderr: "pipe", env: testEnv() });
    if ((await save.exited) !== 0) throw new Error(`mydocker save: ${await new Response(save.stderr).text()}`);
    await ok(["images", "import", tar]);
    image = (await ok(["images", "ls", "-q"])).trim().split("\n").find((r) => /(^|\/)busybox:latest$/.test(r))!;
    if (!image) throw new Error("ctr images import: no busybox:latest");
  });

  afterAll(async () => {
    if (!dir) return;
    if (daemon) {
      for (const c of (await ctr(["containers", "ls", "-q"])).stdout.trim().split("\n").filter(Boolean)) {
        await ctr(["task", "kill", "-s", "KILL", c]);
        await ctr(["task", "delete", "-f", c]);
        await ctr(["containers", "rm", c]);
      }
      daemon.kill("SIGTERM");
      const ended = await Promise.race([daemon.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
      if (!ended) daemon.kill("SIGKILL");
      await daemon.exited;
    }
    for (const pid of ourProcesses()) process.kill(pid, "SIGKILL");
    for (const m of hostMounts().filter((p) => p.startsWith(dir)).sort().reverse()) umount2(m, MNT_DETACH);
    rmSync(dir, { recursive: true, force: true });
    // the /<NS> parents of the containers' cgroups (their leaves are checked after each test)
    for (const h of readdirSync("/sys/fs/cgroup")) if (existsSync(join("/sys/fs/cgroup", h, NS)) && statSync(join("/sys/fs/cgroup", h, NS)).isDirectory()) rmdirSync(join("/sys/fs/cgroup", h, NS));
    if (!runDirExisted) rmSync(CONTAINERD_RUN, { recursive: true, force: true });
  });

  let logOffset = 0;
  let mountsBefore: string[];
  beforeEach(() => {
    logOffset = statSync(daemonLog()).size;
    mountsBefore = hostMounts().filter((m) => m.startsWith(dir));
  });

  afterEach(async () => {
    const left = (await ok(["containers", "ls", "-q"])).trim();
    for (const c of left.split("\n").filter(Boolean)) {
      await ctr(["task", "kill", "-s", "KILL", c]);
      await ctr(["task", "delete", "-f", c]);
      await ctr(["containers", "rm", c]);
    }
    expect(left).toBe("");
    // the shim ends once its task is deleted; the container's last process is reaped by then
    await until(() => mydockerProcesses().length === 0 && ourProcesses().length === 0).catch(() => {});
    expect(mydockerProcesses()).toEqual([]);
    expect(ourProcesses()).toEqual([]);
    expect(namespaceCgroups()).toEqual([]);
    expect(ociRecords()).toEqual([]);
    expect(hostMounts().filter((m) => m.startsWith(dir))).toEqual(mountsBefore);
    expect(daemonErrors(logOffset)).toEqual([]);
  });

  test("ctr run --rm: the command runs to its end through the shim, with its output and exit code (0, then 3)", async () => {
    const hi = await ctr(["run", "--rm", ...shimFlags(), image, "e2e-hi", "echo", "hi"]);
    expect(hi).toMatchObject({ code: 0, stdout: "hi\n" });
    const three = await ctr(["run", "--rm", ...shimFlags(), image, "e2e-three", "sh", "-c", "exit 3"]);
    expect(three.code).toBe(3);
  });

  test("a command the image does not have: ctr shows our error, which the shim read from log.json", async () => {
    const r = await ctr(["run", "--rm", ...shimFlags(), image, "e2e-missing", "no-such-command"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("OCI runtime create failed: exec no-such-command: executable file not found in $PATH");
    expect((await ok(["containers", "ls", "-q"])).trim()).toBe(""); // ctr run --rm removed it
  });

  test("run -d, task exec --exec-id, task ps, pause/resume, kill, task delete, container rm", async () => {
    const id = "e2e-detached";
    await ok(["run", "-d", ...shimFlags(), image, id, "sh", "-c", 'trap "exit 9" TERM; sleep 60 & wait']);
    const [pid, status] = (await tasks()).get(id)!;
    expect(status).toBe("RUNNING");
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(readlinkSync(`/proc/${pid}/ns/pid`)).not.toBe(readlinkSync("/proc/self/ns/pid"));
    // the config's cgroupsPath (/<namespace>/<id>) is where we put it
    const cgroupLine = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => (V2 ? l.startsWith("0::") : /:memory:/.test(l)))!;
    expect(cgroupLine.endsWith(`/${NS}/${id}`)).toBe(true);

    const exec = await ctr(["task", "exec", "--fifo-dir", fifoDir(), "--exec-id", "x1", id, "sh", "-c", "echo exec-out $(cat /proc/1/comm); exit 4"]);
    expect(exec).toMatchObject({ code: 4, stdout: "exec-out sh\n" });
    // ctr task ps: the shim's `ps --format json`, then containerd's view of each pid
    const ps = (await ok(["task", "ps", id])).trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(ps).toContain(pid);
    expect(ps.length).toBeGreaterThanOrEqual(2); // sh and its sleep

    await ok(["task", "pause", id]);
    expect((await tasks()).get(id)![1]).toBe("PAUSED");
    await ok(["task", "resume", id]);
    expect((await tasks()).get(id)![1]).toBe("RUNNING");
    // the shim's log.json: our warnings and errors, one JSON object a line; none is an error
    const logJson = join(dir, "state/io.containerd.runtime.v2.task", NS, id, "log.json");
    const entries = existsSync(logJson) ? readFileSync(logJson, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { level: string }) : [];
    expect(entries.filter((e) => e.level === "error")).toEqual([]);

    await ok(["task", "kill", id]); // SIGTERM, trapped: exit 9
    await until(async () => (await tasks()).get(id)?.[1] === "STOPPED");
    const del = await ctr(["task", "delete", id]);
    expect(del.code).toBe(0);
    expect(del.stderr).toContain("exit code 9");
    await ok(["containers", "rm", id]);
  });
});
