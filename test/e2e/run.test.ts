// `mydocker run` end to end, on the compiled binary, as root: what a container sees from inside,
// what the host sees from outside, and that nothing is left behind.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { hostname, tmpdir } from "node:os";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";

import { join } from "node:path";
import { containerCgroupDir, expectHostUnchanged, hostSnapshot, MYDOCKER, mydocker, namespacesOf, PROJECT, ROOTFS, startContainer, TEST_DATA_ROOT, testEnv, type HostSnapshot } from "./helpers";

let before: HostSnapshot;
beforeEach(() => {
  before = hostSnapshot();
});
afterEach(async () => {
  await expectHostUnchanged(before);
});

describe("isolation", () => {
  test("the command is PID 1 in new pid, mount, net, uts, ipc and cgroup namespaces", async () => {
    const r = await mydocker(["run", "sh", "-c", "echo $$; for n in pid mnt net uts ipc cgroup; do readlink /proc/self/ns/$n; done"]);
    // (when this file runs alone on a host with ip_forward 0, this start makes the suite's default
    // bridge, which says once that it turned forwarding on: a notice, not an error)
    expect(r.stderr.replace(/^mydocker: net\.ipv4\.ip_forward was 0: set to 1 .*\n/, "")).toBe("");
    expect(r.code).toBe(0);
    const [pid, ...ids] = r.stdout.trim().split("\n");
    expect(pid).toBe("1");
    const host = namespacesOf("self");
    const inside = Object.fromEntries(ids.map((l) => [l.split(":")[0]!, l]));
    for (const ns of ["pid", "mnt", "net", "uts", "ipc", "cgroup"]) {
      expect(inside[ns]).toMatch(new RegExp(`^${ns}:\\[\\d+\\]$`));
      expect(inside[ns]).not.toBe(host[ns]);
    }
  });

  test("hostname defaults to the short id, -h sets it, the host's is unchanged", async () => {
    const hostBefore = hostname();
    const byDefault = await mydocker(["run", "hostname"]);
    expect(byDefault.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    const named = await mydocker(["run", "-h", "box1", "hostname"]);
    expect(named.stdout.trim()).toBe("box1");
    expect(hostname()).toBe(hostBefore);
  });

  test("the mount table holds only the container's mounts, with docker's options", async () => {
    const r = await mydocker(["run", "cat", "/proc/self/mountinfo"]);
    expect(r.code).toBe(0);
    const mounts = r.stdout.trim().split("\n").map((l) => {
      const f = l.split(" ");
      return { point: f[4]!, opts: f[5]!, fstype: f[f.indexOf("-") + 1]! };
    });
    // the container's own /etc files (bind mounts made from trees opened before the pivot, which
    // mountinfo lists first)
    const etc = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];
    expect(mounts.filter((m) => etc.includes(m.point)).map((m) => m.point)).toEqual(etc);
    const points = mounts.map((m) => m.point).filter((p) => !etc.includes(p));
    expect(points.slice(0, 8)).toEqual(["/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);
    // then the cgroup hierarchies (v1) below /sys/fs/cgroup, then docker's masked and read-only paths
    const rest = points.slice(8).filter((p) => !p.startsWith("/sys/fs/cgroup/"));
    const hidden = ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
    expect(rest.length).toBeGreaterThan(5);
    for (const p of rest) expect(hidden).toContain(p);
    const by = Object.fromEntries(mounts.map((m) => [m.point, m]));
    expect(by["/sys/fs/cgroup"]!.opts.split(",")).toContain("ro");
    expect(by["/proc/sys"]!.opts.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
    expect(by["/proc"]!.fstype).toBe("proc");
    expect(by["/proc"]!.opts.split(",")).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec"]));
    expect(by["/dev"]!.fstype).toBe("tmpfs");
    expect(by["/dev/pts"]!.fstype).toBe("devpts");
    expect(by["/sys"]!.opts.split(",")).toContain("ro");
    // nothing of the host is reachable: no old root left anywhere
    expect(r.stdout).not.toContain(".pivot_root");
  });

  test("/dev has the standard devices and links; pivot_root left nothing in the rootfs", async () => {
    const r = await mydocker(["run", "sh", "-c", "cd /dev && stat -c '%A %t:%T %n' null zero full random urandom tty && for l in fd stdin ptmx; do readlink $l; done && ls -a / && head -c 4 /dev/zero | wc -c"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 6)).toEqual([
      "crw-rw-rw- 1:3 null", "crw-rw-rw- 1:5 zero", "crw-rw-rw- 1:7 full",
      "crw-rw-rw- 1:8 random", "crw-rw-rw- 1:9 urandom", "crw-rw-rw- 5:0 tty",
    ]);
    expect(lines.slice(6, 9)).toEqual(["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]);
    expect(lines.some((l) => l.startsWith(".pivot_root"))).toBe(false);
    expect(lines.pop()).toBe("4");
  });

  test("a rootfs on a read-only mount works: pivot_root(\".\", \".\") writes nothing into it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mydocker-rorootfs-"));
    const sh = (cmd: string) => expect(Bun.spawnSync(["sh", "-c", cmd]).exitCode).toBe(0);
    try {
      sh(`cp -a ${ROOTFS}/. ${dir}/ && mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir}`);
      const r = await mydocker(["run", "--rm", "--rootfs", dir, "sh", "-c", "ls -a / | tr '\\n' ' '"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(".pivot_root");
    } finally {
      Bun.spawnSync(["umount", dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the command starts with no signal ignored or blocked (Bun's SIGPIPE is not inherited): yes | head ends", async () => {
    const r = await mydocker(["run", "--rm", "sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status; yes abc | head -c 8 >/dev/null; echo ended"]);
    expect(r.stdout).toBe("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nended\n");
  });

  test("lo is up; with --network none no other interface, on the default bridge eth0 too", async () => {
    const r = await mydocker(["run", "--network", "none", "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"]);
    const [ifaces, flags] = r.stdout.trim().split("\n");
    expect(ifaces).toBe("lo");
    expect(Number(flags) & 1).toBe(1); // IFF_UP
    const bridged = await mydocker(["run", "sh", "-c", "echo $(ls /sys/class/net); cat /sys/class/net/lo/flags /sys/class/net/eth0/flags"]);
    const [names, loFlags, ethFlags] = bridged.stdout.trim().split("\n");
    expect(names).toBe("eth0 lo");
    expect(Number(loFlags) & 1).toBe(1);
    expect(Number(ethFlags) & 1).toBe(1);
  });

  test("the environment is PATH, HOME, HOSTNAME (+TERM with -t) and -e values, never the host's", async () => {
    const r = await mydocker(["run", "-e", "A=1", "-e", "B=two words", "-e", "FROM_HOST", "env"], { env: { SECRET_OF_HOST: "x", FROM_HOST: "h" } });
    const env = r.stdout.trim().split("\n").filter((l) => !l.startsWith("PWD=") && !l.startsWith("SHLVL=")).sort();
    expect(env).toEqual(["A=1", "B=two words", "FROM_HOST=h", "HOME=/root", expect.stringMatching(/^HOSTNAME=[0-9a-f]{12}$/), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    const tty = await mydocker(["run", "-t", "sh", "-c", "echo $TERM"]);
    expect(tty.stdout.trim()).toBe("xterm");
  });

  test("a relative command path is relative to -w", async () => {
    expect((await mydocker(["run", "--rm", "-w", "/bin", "./busybox", "echo", "rel"])).stdout).toBe("rel\n");
  });

  test("-w sets the working directory; PATH is looked up inside the root", async () => {
    const r = await mydocker(["run", "-w", "/etc", "sh", "-c", "pwd; which ls"]);
    expect(r.stdout.trim().split("\n")).toEqual(["/etc", "/bin/ls"]);
  });

  test("the container's fds are only 0, 1 and 2", async () => {
    // sh stays PID 1 (a trailing command keeps it from exec'ing ls), so /proc/1/fd is what it inherited
    const r = await mydocker(["run", "sh", "-c", "ls /proc/1/fd; true"]);
    expect(r.stdout.trim().split(/\s+/).sort()).toEqual(["0", "1", "2"]);
  });
});

describe("command line", () => {
  test("flags after COMMAND reach it untouched, and argv is never split on spaces", async () => {
    expect((await mydocker(["run", "/bin/ls", "-la", "/"])).stdout).toContain(" bin");
    expect((await mydocker(["run", "sh", "-c", "echo a  b"])).stdout).toBe("a b\n");
    expect((await mydocker(["run", "echo", "-m", "5", "--help", "x y"])).stdout).toBe("-m 5 --help x y\n");
  });

  test("-i passes stdin through; without it the command reads nothing", async () => {
    expect((await mydocker(["run", "-i", "cat"], { stdin: "hi\nthere\n" })).stdout).toBe("hi\nthere\n");
    expect((await mydocker(["run", "cat"], { stdin: "hi\n" })).stdout).toBe("");
  });

  test("the runtime's messages go to stderr, json with --log-format json", async () => {
    const r = await mydocker(["run", "--log-format", "json", "/bin/nosuchcommand"]);
    expect(r.code).toBe(127);
    const line = JSON.parse(r.stderr.trim());
    expect(line).toMatchObject({ level: "error", msg: expect.stringContaining("nosuchcommand") });
    expect(new Date(line.time).getTime()).toBeGreaterThan(0);
    expect(r.stdout).toBe("");
  });
});

describe("exit status", () => {
  test("the command's own status", async () => {
    expect((await mydocker(["run", "sh", "-c", "exit 3"])).code).toBe(3);
    expect((await mydocker(["run", "true"])).code).toBe(0);
  });

  test("127 not found, 126 not executable, each with one line naming it", async () => {
    const missing = await mydocker(["run", "/bin/nosuchcmd"]); // a bare word is looked up as an image first (run-flags.test.ts)
    expect(missing.code).toBe(127);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("nosuchcmd");
    const missingPath = await mydocker(["run", "/no/such/file"]);
    expect(missingPath.code).toBe(127);
    const notExec = await mydocker(["run", "/etc/passwd"]);
    expect(notExec.code).toBe(126);
    expect(notExec.stderr).toContain("/etc/passwd");
  });

  test("128+N when a signal kills the command", async () => {
    const c = startContainer(["run", "-i", "sh", "-c", "hostname; read x"]);
    const id = await c.line();
    const [pid] = readFileSync(`${containerCgroupDir(id, "pids")}/cgroup.procs`, "utf8").trim().split("\n");
    process.kill(Number(pid), "SIGKILL");
    expect((await c.finish()).code).toBe(137);
  });

  test("SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to mydocker reach the container", async () => {
    for (const [sig, n] of [["SIGTERM", 15], ["SIGINT", 2], ["SIGHUP", 1], ["SIGQUIT", 3]] as const) {
      const c = startContainer(["run", "sh", "-c", `trap 'echo got ${sig}; exit ${n + 100}' ${sig.slice(3)}; echo ready; while :; do sleep 0.05; done`]);
      expect(await c.line()).toBe("ready");
      c.proc.kill(sig);
      const r = await c.finish();
      expect(r.stdout).toContain(`got ${sig}`);
      expect(r.code).toBe(n + 100);
    }
  });
});

describe("cgroups", () => {
  test("limits are written to the container's cgroup, under the caller's own cgroup", async () => {
    const c = startContainer(["run", "-i", "-m", "32m", "--cpu-shares", "512", "--cpus", "0.5", "--cpuset-cpus", "0", "--pids-limit", "20", "sh", "-c", "hostname; read x"]);
    const id = await c.line();
    const v2 = (await Bun.file("/sys/fs/cgroup/cgroup.controllers").exists());
    const read = (ctl: string, file: string) => readFileSync(`${containerCgroupDir(id, ctl)}/${file}`, "utf8").trim();
    if (v2) {
      expect(read("memory", "memory.max")).toBe(String(32 * 1024 * 1024));
      expect(read("cpu", "cpu.max")).toBe("50000 100000");
      expect(read("cpuset", "cpuset.cpus")).toBe("0");
      expect(read("pids", "pids.max")).toBe("20");
    } else {
      expect(read("memory", "memory.limit_in_bytes")).toBe(String(32 * 1024 * 1024));
      expect(read("cpu", "cpu.shares")).toBe("512");
      expect(read("cpu", "cpu.cfs_quota_us")).toBe("50000");
      expect(read("cpu", "cpu.cfs_period_us")).toBe("100000");
      expect(read("cpuset", "cpuset.cpus")).toBe("0");
      expect(read("pids", "pids.max")).toBe("20");
    }
    expect(read("memory", "cgroup.procs").split("\n").length).toBeGreaterThanOrEqual(1);
    expect((await c.finish()).code).toBe(0);
  });

  test("--cpuset-cpus is what the process may run on", async () => {
    const r = await mydocker(["run", "--cpuset-cpus", "0", "grep", "Cpus_allowed_list", "/proc/self/status"]);
    expect(r.stdout.trim()).toMatch(/^Cpus_allowed_list:\s+0$/);
  });

  test("a 64 MB allocation under -m 32m is OOM-killed: exit 137 and a message", async () => {
    const r = await mydocker(["run", "-m", "32m", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    expect(r.code).toBe(137);
    expect(r.stderr).toContain("OOM-killed");
  });

  test("--pids-limit stops a fork loop", async () => {
    const r = await mydocker(["run", "--pids-limit", "10", "sh", "-c", "for i in $(seq 30); do sleep 2 & done; echo done"]);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  });

  test("the cgroup namespace hides the host's cgroup paths", async () => {
    const r = await mydocker(["run", "cat", "/proc/self/cgroup"]);
    for (const line of r.stdout.trim().split("\n")) expect(line.split(":")[2]).toBe("/");
  });
});

describe("concurrency", () => {
  test("two containers in parallel each get their own namespaces and hostnames", async () => {
    const a = startContainer(["run", "-i", "sh", "-c", "hostname; readlink /proc/self/ns/pid; read x"]);
    const b = startContainer(["run", "-i", "sh", "-c", "hostname; readlink /proc/self/ns/pid; read x"]);
    const [ha, pa, hb, pb] = [await a.line(), await a.line(), await b.line(), await b.line()];
    expect(ha).not.toBe(hb);
    expect(pa).not.toBe(pb);
    expect((await a.finish()).code).toBe(0);
    expect((await b.finish()).code).toBe(0);
  });
});

test("the rootfs used is the project's rootfs/ by default", async () => {
  const r = await mydocker(["run", "cat", "/etc/passwd"]);
  expect(r.stdout).toBe(readFileSync(`${ROOTFS}/etc/passwd`, "utf8"));
});

/** The superblock options of the host's overlay mounts under the tests' data root (mountinfo's last field). */
function overlayOptions(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" - "))
    .filter(([mount, fs]) => fs?.startsWith("overlay ") && mount!.split(" ")[4]!.startsWith(`${TEST_DATA_ROOT}/containers/`))
    .map(([, fs]) => fs!.split(" ")[2]!);
}

test("--rm: the overlay is mounted volatile (no sync of the upper filesystem at its unmount); without --rm it is not", async () => {
  for (const [flags, volatile] of [[["--rm"], true], [["--name", "kept-layer"], false]] as const) {
    const c = startContainer(["run", "-i", ...flags, "sh", "-c", "echo up; read x"]);
    expect(await c.line()).toBe("up");
    const options = overlayOptions();
    expect(options).toHaveLength(1);
    expect(/(^|,)(fsync=)?volatile(,|$)/.test(options[0]!)).toBe(volatile); // 6.x kernels show fsync=volatile
    expect((await c.finish()).code).toBe(0);
    expect(overlayOptions()).toEqual([]); // unmounted at its end
  }
  // the kept container starts again on its existing layer (mounted anew: `read` then meets the end of its input)
  const again = await mydocker(["start", "-a", "kept-layer"]);
  expect([again.stdout, again.code]).toEqual(["up\n", 1]);
  expect((await mydocker(["rm", "kept-layer"])).code).toBe(0);
});

describe("the same container three ways", () => {
  test("`bun run src/cli.ts run` behaves as the compiled binary", async () => {
    const proc = Bun.spawn(["bun", "run", "src/cli.ts", "run", "-h", "viabun", "sh", "-c", "echo $$ $(hostname); exit 4"], {
      cwd: PROJECT,
      stdout: "pipe",
      stderr: "pipe",
      env: testEnv(),
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(err).toBe("");
    expect(out).toBe("1 viabun\n");
    expect(code).toBe(4);
  });

  test("-ti on a terminal gives an interactive shell (as `make run` does)", async () => {
    // script(1) gives mydocker a real terminal on its stdin/stdout.
    const proc = Bun.spawn(["script", "-qec", `${MYDOCKER} run -ti /bin/sh`, "/dev/null"], {
      stdin: Buffer.from("echo in-$((6*7)) $TERM\nexit 7\n"),
      stdout: "pipe",
      stderr: "pipe",
      env: { ...testEnv(), TERM: "dumb" },
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(out).toContain("in-42 xterm");
    expect(code).toBe(7);
  });
});
