// podman (with conmon) drives mydocker as its OCI runtime: `--runtime <dir>/mydocker-runc`, a
// symlink to the binary (argv[0] picks the OCI command line). podman runs on a configuration of
// this test's own — containers.conf, storage.conf, registries.conf and a signature policy in a
// temp dir, its storage under it, cgroupfs, file events, no network — and on an image imported
// from a tar of rootfs/ (nothing is pulled). Every test removes what it made; after each one, no
// container, pod, cgroup, mount or process of ours may be left.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MNT_DETACH, umount2 } from "../../ffi/mount";
import { hostMounts, MYDOCKER, mydockerProcesses, ROOTFS } from "./helpers";

const PODMAN = Bun.which("podman");
const IMAGE = "localhost/mydocker-e2e/busybox:latest";
const INFRA_IMAGE = "localhost/mydocker-e2e/infra:latest";
/** podman's cgroupfs parent: containers get <parent>/libpod-<id>, a pod's get <parent>/<pod>/libpod-<id> */
const LIBPOD_PARENT = "libpod_parent";
/** where mydocker-runc keeps its records when the caller passes no --root (podman passes none) */
const OCI_ROOT = "/run/mydocker-runc";
/** podman import writes c/image's blob cache here, whatever its storage root */
const BLOB_CACHE = "/var/lib/containers";
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

let dir: string;
let runtime: string;
let env: Record<string, string>;
/** host paths that podman or our runtime may create: existed before this file ran? */
const existedBefore = new Map<string, boolean>();
const created = () => [...existedBefore].filter(([, was]) => !was).map(([p]) => p);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let calls = 0;
/**
 * `podman --root .. --runroot .. --runtime <mydocker-runc> ARGS`. Output goes to files, not pipes:
 * conmon and the container outlive a detached `run`, and must not hold our pipe open.
 */
async function podman(args: string[], timeoutMs = 30_000): Promise<Result> {
  const out = join(dir, "out", `${++calls}.out`);
  const err = join(dir, "out", `${calls}.err`);
  const argv = [PODMAN!, "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--tmpdir", join(dir, "libpod-tmp"), "--runtime", runtime, ...args];
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err), env, timeout: timeoutMs });
  const code = await proc.exited;
  return { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
}

/** Like podman(), but it must succeed; returns its stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * `podman ARGS` on a 30x100 terminal of script(1) (podman -t wants one), with a stdin that stays
 * open until it is done (an end of file would reach the container's terminal).
 */
async function podmanOnTerminal(args: string[]): Promise<{ code: number; output: string }> {
  const argv = [PODMAN!, "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--tmpdir", join(dir, "libpod-tmp"), "--runtime", runtime, ...args];
  const proc = Bun.spawn(["script", "-qec", `stty rows 30 cols 100; ${argv.map(quote).join(" ")}`, "/dev/null"], {
    stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...env, TERM: "dumb" }, timeout: 30_000,
  });
  const output = new Response(proc.stdout).text();
  const code = await proc.exited;
  proc.stdin.end();
  return { code, output: (await output).replace(/\r/g, "") };
}

async function until(what: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(25);
  }
}

const pidOf = async (name: string) => Number((await ok(["inspect", "-f", "{{.State.Pid}}", name])).trim());
const statusOf = async (name: string) => (await ok(["ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Status}}"])).trim();

/** A file of `pid`'s cgroup for `controller` (v1), or of its v2 cgroup. */
function cgroupFile(pid: number, controller: string, v1File: string, v2File: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n").map((l) => l.split(":") as [string, string, string]);
  if (V2) return join("/sys/fs/cgroup", lines.find(([, c]) => c === "")![2], v2File);
  const [, controllers, path] = lines.find(([, c]) => c.split(",").includes(controller))!;
  return join("/sys/fs/cgroup", controllers, path, v1File);
}

/** The cgroup hierarchies mounted here (v1 controllers, name=systemd, the v2 mount). */
function hierarchies(): string[] {
  return readdirSync("/sys/fs/cgroup", { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join("/sys/fs/cgroup", e.name));
}

/** Every cgroup below podman's parent (containers and pods: ours to remove, all of them). */
function libpodCgroups(): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 3 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      out.push(join(d, e.name));
      walk(join(d, e.name), depth + 1);
    }
  };
  for (const h of hierarchies()) walk(join(h, LIBPOD_PARENT), 1);
  return out.filter((p) => !p.endsWith(`/${LIBPOD_PARENT}/conmon`)).sort();
}

/** Records of mydocker-runc (a directory per container; `seccomp` is its filter cache). */
const ociRecords = () => (existsSync(OCI_ROOT) ? readdirSync(OCI_ROOT).filter((n) => n !== "seccomp") : []);

/** Mount points podman or a container could leave behind: under our temp dir, or podman's /run dirs. */
// podman's overlay driver bind-mounts its own home (<root>/overlay) while any podman process uses
// the store, and drops it when the last one ends: podman's bookkeeping, left out; what is mounted
// below it (image and container layers) counts.
const ourMounts = () =>
  hostMounts().filter((m) => (m.startsWith(dir) && m !== join(dir, "root/overlay")) || /^\/run\/(containers|libpod|netns)\b/.test(m) || m.startsWith(BLOB_CACHE));

/** conmon and anything else still running from our temp dir (by pid, only ours). */
function ourProcesses(): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(dir)) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

/** A directory tree of cgroups, deepest first (rmdir(2) of a cgroup with children is EBUSY). */
function removeCgroupTree(d: string): void {
  if (!existsSync(d)) return;
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(d, e.name));
  rmdirSync(d);
}

describe.skipIf(!PODMAN)(PODMAN ? "podman with mydocker-runc as its OCI runtime" : "podman with mydocker-runc (podman not installed)", () => {
  beforeAll(async () => {
    for (const p of [OCI_ROOT, BLOB_CACHE, ...hierarchies().map((h) => join(h, LIBPOD_PARENT))]) existedBefore.set(p, existsSync(p));
    dir = mkdtempSync(join(tmpdir(), "mydocker-podman-"));
    for (const d of ["out", "home/.config/containers", "tmp", "libpod-tmp"]) mkdirSync(join(dir, d), { recursive: true });
    runtime = join(dir, "mydocker-runc");
    symlinkSync(MYDOCKER, runtime);
    writeFileSync(join(dir, "containers.conf"), [
      "[containers]",
      // root here lacks CAP_SYS_RESOURCE: podman's default (nofile 1048576) is above the hard limit
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'netns = "none"',
      'cgroups = "no-conmon"',
      'log_driver = "k8s-file"',
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${dir}/events.log"`,
      // podman passes --log-format json --log F only to the runtimes it knows, or these
      'runtime_supports_json = ["mydocker-runc"]',
      `[engine.runtimes]`,
      `mydocker-runc = ["${runtime}"]`,
    ].join("\n") + "\n");
    writeFileSync(join(dir, "storage.conf"), `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/runroot"\n`);
    writeFileSync(join(dir, "registries.conf"), "unqualified-search-registries = []\n");
    // podman import checks a signature policy: $HOME's comes before the host's
    writeFileSync(join(dir, "home/.config/containers/policy.json"), JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    env = {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: join(dir, "home"),
      TMPDIR: join(dir, "tmp"),
      CONTAINERS_CONF: join(dir, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"),
      CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf"),
    };
    const tar = Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", join(dir, "rootfs.tar"), "."]);
    if (!tar.success) throw new Error(`tar: ${tar.stderr}`);
    await ok(["import", join(dir, "rootfs.tar"), IMAGE]);
    // a pod's infra container runs its image's entrypoint (no pause image here: that one is built from catatonit)
    await ok(["import", "--change", 'ENTRYPOINT ["sleep", "3600"]', join(dir, "rootfs.tar"), INFRA_IMAGE]);
  });

  afterAll(async () => {
    if (!dir) return;
    await podman(["pod", "rm", "-af", "-t", "0"]);
    await podman(["rm", "-af", "-t", "0"]);
    await podman(["rmi", "-af"]);
    for (const pid of ourProcesses()) process.kill(pid, "SIGKILL");
    // podman's overlay mounts (of images, of containers) would make rm -rf fail: deepest first
    for (const m of hostMounts().filter((p) => p.startsWith(dir)).sort().reverse()) umount2(m, MNT_DETACH);
    rmSync(dir, { recursive: true, force: true });
    for (const p of created()) {
      if (p.startsWith("/sys/fs/cgroup/")) removeCgroupTree(p);
      else if (p === OCI_ROOT && ociRecords().length) continue; // not ours to remove: someone's records
      else rmSync(p, { recursive: true, force: true });
    }
  });

  let mountsBefore: string[];
  beforeEach(() => {
    mountsBefore = ourMounts();
  });

  afterEach(async () => {
    // what the test left, then removed anyway, so that one failure does not spread
    const containers = (await ok(["ps", "-aq"])).trim();
    const pods = (await ok(["pod", "ps", "-q"])).trim();
    if (pods) await podman(["pod", "rm", "-f", "-t", "0", ...pods.split("\n")]);
    if (containers) await podman(["rm", "-f", "-t", "0", ...containers.split("\n")]);
    expect({ containers, pods }).toEqual({ containers: "", pods: "" });
    // a container's last process may need a moment to be reaped after podman returned, and
    // conmon's exit command (`podman container cleanup`) may still be running
    await until(() => mydockerProcesses().length === 0 && ourProcesses().length === 0).catch(() => {});
    expect(mydockerProcesses()).toEqual([]);
    expect(libpodCgroups()).toEqual([]);
    expect(ociRecords()).toEqual([]);
    expect(ourMounts()).toEqual(mountsBefore);
    expect(ourProcesses()).toEqual([]);
  });

  test("run --rm IMAGE echo hi: the output, exit 0, and no container afterwards", async () => {
    const r = await podman(["run", "--rm", IMAGE, "echo", "hi"]);
    expect(r).toMatchObject({ code: 0, stdout: "hi\n" });
    expect((await ok(["ps", "-aq"])).trim()).toBe("");
  });

  test("exit codes: the command's own (3), and 127 for a command the image does not have", async () => {
    expect((await podman(["run", "--rm", IMAGE, "sh", "-c", "exit 3"])).code).toBe(3);
    const missing = await podman(["run", "--rm", IMAGE, "no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("no-such-command: executable file not found");
  });

  test("run -d, ps, exec, logs, stop, rm: the container lives in its own namespaces and in podman's cgroup", async () => {
    const id = (await ok(["run", "-d", "--name", "e2e-detached", IMAGE, "sh", "-c", 'echo started; trap "exit 0" TERM; sleep 60 & wait'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await statusOf("e2e-detached")).toStartWith("Up");
    const pid = await pidOf("e2e-detached");
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(readlinkSync(`/proc/${pid}/ns/pid`)).not.toBe(readlinkSync("/proc/self/ns/pid"));
    expect(cgroupFile(pid, "memory", "", "")).toContain(`/${LIBPOD_PARENT}/libpod-${id}`);
    const exec = await podman(["exec", "e2e-detached", "sh", "-c", "echo in-exec $(cat /proc/1/comm); exit 5"]);
    expect(exec).toMatchObject({ code: 5, stdout: "in-exec sh\n" });
    await until(async () => (await ok(["logs", "e2e-detached"])) === "started\n");
    const started = Date.now();
    expect((await podman(["stop", "-t", "10", "e2e-detached"])).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000); // TERM ended it: no wait for the KILL
    expect(await statusOf("e2e-detached")).toStartWith("Exited (0)");
    expect((await ok(["rm", "e2e-detached"])).trim()).toBe("e2e-detached");
  });

  test("run -it: a pts of the container's own devpts, the window size podman set, the exit code", async () => {
    const r = await podmanOnTerminal(["run", "--rm", "-it", IMAGE, "sh", "-c", "tty; stty size; exit 4"]);
    expect(r.output).toBe("/dev/pts/0\n30 100\n");
    expect(r.code).toBe(4);
  });

  test("exec -it: a terminal of its own in a running container, sized by podman", async () => {
    await ok(["run", "-d", "--name", "e2e-exec-tty", IMAGE, "sleep", "60"]);
    // conmon sizes the pty once it holds the master; the runtime hands it over before the command
    // runs, but podman sends the size on its own schedule: give it a few tries
    const r = await podmanOnTerminal(["exec", "-it", "e2e-exec-tty", "sh", "-c", "tty; for i in 1 2 3 4 5 6 7 8 9 10; do s=$(stty size) && break; sleep 0.1; done; echo $s; exit 6"]);
    expect(r.output).toBe("/dev/pts/0\n30 100\n");
    expect(r.code).toBe(6);
    await ok(["rm", "-f", "-t", "0", "e2e-exec-tty"]);
  });

  test("pause and unpause freeze and thaw the container's cgroup", async () => {
    await ok(["run", "-d", "--name", "e2e-pause", IMAGE, "sleep", "60"]);
    const freezer = cgroupFile(await pidOf("e2e-pause"), "freezer", "freezer.state", "cgroup.freeze");
    await ok(["pause", "e2e-pause"]);
    expect(await statusOf("e2e-pause")).toStartWith("Paused");
    expect(readFileSync(freezer, "utf8").trim()).toBe(V2 ? "1" : "FROZEN");
    await ok(["unpause", "e2e-pause"]);
    expect(await statusOf("e2e-pause")).toStartWith("Up");
    expect(readFileSync(freezer, "utf8").trim()).toBe(V2 ? "0" : "THAWED");
    await ok(["rm", "-f", "-t", "0", "e2e-pause"]);
  });

  test("update --memory writes the new limit into the container's cgroup", async () => {
    await ok(["run", "-d", "--name", "e2e-update", "--memory", "128m", IMAGE, "sleep", "60"]);
    const limit = cgroupFile(await pidOf("e2e-update"), "memory", "memory.limit_in_bytes", "memory.max");
    expect(readFileSync(limit, "utf8").trim()).toBe(String(128 << 20));
    const r = await podman(["update", "--memory", "64m", "e2e-update"]);
    expect(r.code).toBe(0);
    expect(readFileSync(limit, "utf8").trim()).toBe(String(64 << 20));
    await ok(["rm", "-f", "-t", "0", "e2e-update"]);
  });

  test("kill -s: the signal reaches the container's command (USR1 trapped: exit 7; KILL: 137)", async () => {
    await ok(["run", "-d", "--name", "e2e-usr1", IMAGE, "sh", "-c", 'trap "exit 7" USR1; sleep 60 & wait']);
    await ok(["run", "-d", "--name", "e2e-kill", IMAGE, "sleep", "60"]);
    await ok(["kill", "-s", "USR1", "e2e-usr1"]);
    await ok(["kill", "-s", "KILL", "e2e-kill"]);
    expect((await ok(["wait", "e2e-usr1"])).trim()).toBe("7");
    expect((await ok(["wait", "e2e-kill"])).trim()).toBe("137");
    await ok(["rm", "e2e-usr1", "e2e-kill"]);
  });

  test("run -d --rm: once the command exits, podman's cleanup removes the container (its delete goes through us)", async () => {
    await ok(["run", "-d", "--rm", "--name", "e2e-autoremove", IMAGE, "sh", "-c", "sleep 0.3"]);
    await until(async () => (await ok(["ps", "-aq"])).trim() === "");
  });

  test("a pod: two containers share the infra container's net, ipc and uts namespaces, each with its own pid namespace", async () => {
    await ok(["pod", "create", "--name", "e2e-pod", "--infra-image", INFRA_IMAGE]);
    await ok(["run", "-d", "--pod", "e2e-pod", "--name", "e2e-pod-a", IMAGE, "sleep", "60"]);
    await ok(["run", "-d", "--pod", "e2e-pod", "--name", "e2e-pod-b", IMAGE, "sleep", "60"]);
    const infraId = (await ok(["pod", "inspect", "-f", "{{.InfraContainerID}}", "e2e-pod"])).trim();
    const [infra, a, b] = [await pidOf(infraId), await pidOf("e2e-pod-a"), await pidOf("e2e-pod-b")];
    const ns = (pid: number, type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);
    for (const type of ["net", "ipc", "uts"]) {
      expect(ns(a, type)).toBe(ns(infra, type));
      expect(ns(b, type)).toBe(ns(infra, type));
      expect(ns(a, type)).not.toBe(ns(process.pid, type));
    }
    expect(ns(a, "pid")).not.toBe(ns(b, "pid"));
    const hostname = await podman(["exec", "e2e-pod-b", "hostname"]);
    expect(hostname.stdout).toBe((await podman(["exec", "e2e-pod-a", "hostname"])).stdout);
    await ok(["pod", "rm", "-f", "-t", "0", "e2e-pod"]);
  });
});
