// Hardened by default: escape attempts from inside a container, and what a container may still do.
// Each attempt is one run of test/e2e/probe.c, which makes one syscall (or a short sequence) and
// prints `ok` or the errno by name; the attempts of a table run one after the other in a single
// container. Expected values are docker's (runc with moby's default seccomp profile and the 14
// default capabilities) on this kernel; where the host decides (a file /proc lacks), the host is read.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, cpSync, mkdirSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker, PROJECT, ROOTFS, startContainer } from "./helpers";
import { probeBinary } from "./probe";

// ---------------------------------------------------------------- docker's values

/** CapEff/CapPrm/CapBnd of docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 *  NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
const DOCKER_CAPS = "00000000a80425fb";
const NO_CAPS = "0000000000000000";
/** docker's masked paths: a file gets /dev/null bound on it, a directory an empty read-only tmpfs. */
const MASKED = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];
const READ_ONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

// ---------------------------------------------------------------- the host's facts

const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
/** major:minor of the block device under the host's / (from mountinfo, as a container could learn it) */
const ROOT_DISK = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")).find((f) => f[4] === "/")![2]!.split(":");
/** The capabilities mydocker itself runs with (root here lacks some, e.g. CAP_SYS_RESOURCE). */
const OWN_CAPS = /^CapEff:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
/** A file every (non-root) cgroup has, of the container's own cgroup as it sees it at /sys/fs/cgroup. */
const CGROUP_FILE = V2 ? "/sys/fs/cgroup/cgroup.max.depth" : "/sys/fs/cgroup/pids/notify_on_release";
const CGROUP_DIR = V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids";
/** A host device outside docker's default list that root may open without a capability (unlike /dev/kmsg: dmesg_restrict). */
const HOST_DEVICE = ["/dev/loop0", "/dev/loop-control"].find((d) => existsSync(d));

// ---------------------------------------------------------------- running probes

let probe: string;
/** a copy of rootfs/ (mydocker makes volume mount points in a plain rootfs), with a setuid-root probe */
let root: string;
/** a host directory for volumes */
let vol: string;
beforeAll(() => {
  probe = probeBinary();
  // not under the temp dir: that may be mounted nosuid (it is in the VM), and the container's root
  // keeps the flags of the mount it is bound from — the setuid probe must work without NNP
  mkdirSync(join(PROJECT, "test/.build"), { recursive: true });
  root = mkdtempSync(join(PROJECT, "test/.build/escape-root-"));
  chmodSync(root, 0o755); // it becomes the container's / (mkdtemp makes 0700: --user 1000 could not look up anything)
  cpSync(ROOTFS, root, { recursive: true, verbatimSymlinks: true });
  copyFileSync(probe, join(root, "probe-suid"));
  chmodSync(join(root, "probe-suid"), 0o4755);
  vol = mkdtempSync(join(tmpdir(), "mydocker-escape-vol-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(vol, { recursive: true, force: true });
});
checkHostAroundEachTest();

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** `mydocker run --rm` on the rootfs copy with the probe at /probe. */
const run = (flags: string[], ...command: string[]) => mydocker(["run", "--rm", "--rootfs", root, "-v", `${probe}:/probe:ro`, ...flags, ...command]);

/**
 * A probe call (argv after /probe) or a shell command; either way its output (stdout and stderr)
 * becomes one line, with " exit N" added when it exits with N != 0.
 */
type Step = string[] | string;

/** Runs the steps in turn in one container made with `flags`; one line of output per step. */
async function steps(flags: string[], list: Step[]): Promise<{ code: number; stderr: string; lines: string[] }> {
  const script = list
    .map((s) => (typeof s === "string" ? s : `/probe ${s.map(shq).join(" ")}`))
    .map((cmd) => `echo "$( (${cmd}) 2>&1; s=$?; [ $s = 0 ] || echo exit $s)" | tr '\\n' ' '; echo`)
    .join("\n");
  const r = await run(flags, "sh", "-c", script);
  return { code: r.code, stderr: r.stderr, lines: r.stdout.split("\n").slice(0, list.length).map((l) => l.trim()) };
}

/** what an attempt is -> [the outcome docker gives, the probe call or shell command] */
type Table = Record<string, [expected: string, step: Step]>;

/** Runs a table in one container; asserts every outcome at once (a failure shows the whole table). */
async function expectOutcomes(flags: string[], table: Table): Promise<void> {
  const names = Object.keys(table);
  const r = await steps(flags, names.map((n) => table[n]![1]));
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(Object.fromEntries(names.map((n, i) => [n, r.lines[i]]))).toEqual(Object.fromEntries(names.map((n) => [n, table[n]![0]])));
}

/** `/probe caps` parsed: { CapEff: "00000000a80425fb", NoNewPrivs: "0", Seccomp: "2", ... } */
const parseCaps = (line: string): Record<string, string> => Object.fromEntries(line.trim().split(" ").map((kv) => kv.split("=") as [string, string]));

async function capsOf(flags: string[]): Promise<Record<string, string>> {
  const r = await run(flags, "/probe", "caps");
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return parseCaps(r.stdout);
}

/** /proc/self/status of a default container (inheritable empty: docker >= 20.10.14, CVE-2022-24769) */
const DEFAULT_STATUS = { CapInh: NO_CAPS, CapPrm: DOCKER_CAPS, CapEff: DOCKER_CAPS, CapBnd: DOCKER_CAPS, CapAmb: NO_CAPS, NoNewPrivs: "0", Seccomp: "2" };

// ---------------------------------------------------------------- escapes

describe("a default container cannot", () => {
  test("mount any filesystem, bind-mount, use the new mount API or unmount /proc", async () => {
    await expectOutcomes([], {
      "mount proc": ["EPERM", ["mount", "proc", "/tmp"]],
      "mount sysfs": ["EPERM", ["mount", "sysfs", "/tmp"]],
      "mount cgroup2": ["EPERM", ["mount", "cgroup2", "/tmp"]],
      "mount tmpfs": ["EPERM", ["mount", "tmpfs", "/tmp"]],
      "bind /etc": ["EPERM", ["bind", "/etc", "/tmp"]],
      "fsopen tmpfs": ["EPERM", ["fsopen", "tmpfs"]],
      "umount /proc": ["EPERM", ["umount", "/proc"]], // last: it would take /proc from the steps after it
    });
  });

  test("remount read-only mounts read-write: /, /sys, /sys/fs/cgroup, a :ro volume", async () => {
    await expectOutcomes(["--read-only", "-v", `${vol}:/v:ro`], {
      "remount / (--read-only)": ["EPERM", ["remount-rw", "/"]],
      "remount /sys": ["EPERM", ["remount-rw", "/sys"]],
      "remount /sys/fs/cgroup": ["EPERM", ["remount-rw", "/sys/fs/cgroup"]],
      "remount the :ro volume": ["EPERM", ["remount-rw", "/v"]],
      "mkdir in the read-only root": ["EROFS", ["mkdir", "/escape"]],
      "mkdir in the :ro volume": ["EROFS", ["mkdir", "/v/escape"]],
    });
    expect(readdirSync(vol)).toEqual([]);
  });

  test("change kernel settings: /proc/sys, /proc/sysrq-trigger, /sys and its own cgroup are read-only", async () => {
    const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8");
    await expectOutcomes([], {
      "core_pattern (written back unchanged)": ["open:EROFS", ["write-back", "/proc/sys/kernel/core_pattern"]],
      "a namespaced sysctl (--sysctl sets those)": ["open:EROFS", ["write-back", "/proc/sys/net/ipv4/ip_forward"]],
      "sysrq-trigger (opened, nothing written)": [existsSync("/proc/sysrq-trigger") ? "EROFS" : "ENOENT", ["open", "/proc/sysrq-trigger", "w"]],
      "/sys: lo's mtu": ["open:EROFS", ["write-back", "/sys/class/net/lo/mtu"]],
      "a file of its own cgroup": ["open:EROFS", ["write-back", CGROUP_FILE]],
      "a child cgroup": ["EROFS", ["mkdir", `${CGROUP_DIR}/escape`]],
    });
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).toBe(corePattern);
  });

  test("read what docker masks: /dev/null on files, an empty read-only tmpfs on directories", async () => {
    const table: Table = {};
    for (const path of MASKED) {
      if (!existsSync(path)) table[`${path} (not on this host)`] = ["open:ENOENT", ["read", path, "64"]];
      else if (statSync(path).isDirectory()) table[path] = ["ok 0", ["list", path]];
      else table[path] = ["ok 0", ["read", path, "64"]];
    }
    await expectOutcomes([], table);
  });

  test("see /proc and /sys without docker's masks and read-only mounts", async () => {
    const r = await run([], "cat", "/proc/self/mountinfo");
    const mounts = new Map(r.stdout.trim().split("\n").map((l) => {
      const f = l.split(" ");
      return [f[4]!, { root: f[3]!, opts: f[5]!.split(","), fstype: f[f.indexOf("-") + 1]! }] as const;
    }));
    /** a file masked with the container's /dev/null (a bind from /dev's tmpfs), an empty read-only tmpfs, or a read-only bind */
    const kind = (p: string) => {
      const m = mounts.get(p);
      if (!m) return "not a mount point";
      if (m.fstype === "tmpfs" && m.root === "/null") return "/dev/null";
      return `${m.opts.includes("ro") ? "ro" : "rw"} ${m.fstype}`;
    };
    const present = (paths: string[]) => paths.filter((p) => existsSync(p));
    const want = Object.fromEntries([
      ...present(MASKED).map((p) => [p, statSync(p).isDirectory() ? "ro tmpfs" : "/dev/null"]),
      ...present(READ_ONLY).map((p) => [p, "ro proc"]),
    ]);
    expect(Object.fromEntries(Object.keys(want).map((p) => [p, kind(p)]))).toEqual(want);
  });

  test("use a host device: mknod is allowed (as in docker), opening is refused by the device cgroup", async () => {
    // Without CAP_SYSLOG the kernel refuses /dev/kmsg too (dmesg_restrict), and this VM refuses its
    // root disk even to the host's root: the loop device is the one only the device cgroup refuses.
    await expectOutcomes([], {
      "/dev/kmsg (c 1:11)": ["open:EPERM", ["mknod-open", "c", "1", "11", "/dev/probe-kmsg"]],
      [`the host's root disk (b ${ROOT_DISK.join(":")})`]: ["open:EPERM", ["mknod-open", "b", ROOT_DISK[0]!, ROOT_DISK[1]!, "/dev/probe-disk"]],
      "a loop device (b 7:0)": ["open:EPERM", ["mknod-open", "b", "7", "0", "/dev/probe-loop"]],
    });
  });

  test("touch the kernel's global state: modules, clock, keyring, bpf, perf, I/O ports, kernel log, file handles", async () => {
    await expectOutcomes([], {
      "init_module": ["EPERM", ["init-module"]],
      "delete_module": ["EPERM", ["delete-module"]],
      "settimeofday (to the current time)": ["EPERM", ["settimeofday"]],
      "clock_settime (to the current time)": ["EPERM", ["clock-settime"]],
      "keyctl (join a new session keyring)": ["EPERM", ["keyctl"]],
      "bpf (create a map)": ["EPERM", ["bpf"]],
      "perf_event_open (own cpu clock)": ["EPERM", ["perf"]],
      "ioperm": ["EPERM", ["ioperm"]],
      "syslog (buffer size)": ["EPERM", ["syslog"]],
      "open_by_handle_at (shocker)": ["EPERM", ["open-by-handle"]],
      "sethostname": ["EPERM", ["sethostname", "escaped"]],
    });
  });

  test("get new namespaces or enter others: unshare and setns are refused, clone3 says ENOSYS", async () => {
    await expectOutcomes([], {
      "unshare user+mnt": ["EPERM", ["unshare", "user,mnt"]],
      "unshare user": ["EPERM", ["unshare", "user"]],
      "unshare mnt": ["EPERM", ["unshare", "mnt"]],
      "unshare net": ["EPERM", ["unshare", "net"]],
      "setns its own mnt": ["EPERM", ["setns", "/proc/self/ns/mnt"]],
      "setns pid 1's net": ["EPERM", ["setns", "/proc/1/ns/net"]],
      "setns its own user": ["EPERM", ["setns", "/proc/self/ns/user"]],
      // the profile cannot read clone3's flags: ENOSYS makes glibc fall back to clone, whose flags it filters
      "clone3": ["ENOSYS", ["clone3"]],
      "a thread still starts (glibc's fallback)": ["ok", ["thread"]],
    });
  });

  test("ptrace a process of another user, or one outside its PID namespace", async () => {
    await expectOutcomes([], {
      // docker allows ptrace (kernel >= 4.8): root may trace root with the same capabilities
      "root -> pid 1 (root)": ["ok", ["ptrace", "1"]],
      "uid 1000 -> pid 1 (root)": ["EPERM", ["ptrace", "1", "1000"]],
      "the test runner's pid": ["ESRCH", ["ptrace", String(process.pid)]],
      "pid 1 is the container's own": ["same", `[ "$(readlink /proc/1/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ] && echo same`],
    });
  });

  test("reach the host's files through /proc/PID/root", async () => {
    const marker = join(tmpdir(), `mydocker-escape-marker-${process.pid}`);
    writeFileSync(marker, "host\n");
    try {
      // every process it can see (sh and a sleep) has the container's / as its root; the host's file is nowhere
      const r = await run([], "sh", "-c", `sleep 5 & for p in /proc/[0-9]*; do [ "$(stat -Lc %d:%i $p/root/)" = "$(stat -c %d:%i /)" ] && echo same || echo "$p/root is elsewhere"; done; cat /proc/*/root${marker} 2>&1 | grep -c host; kill $!`);
      expect(r.stdout).toBe("same\nsame\n0\n");
    } finally {
      rmSync(marker, { force: true });
    }
  });

  test("gain root from a setuid binary under --security-opt no-new-privileges (it does without)", async () => {
    const plain = await run(["--user", "1000:1000"], "/probe-suid", "ids");
    expect({ stdout: plain.stdout, stderr: plain.stderr }).toEqual({ stdout: "uid=1000 euid=0 gid=1000 egid=1000\n", stderr: "" });
    const nnp = await run(["--user", "1000:1000", "--security-opt", "no-new-privileges"], "sh", "-c", "/probe-suid ids; /probe caps");
    expect(nnp.stderr).toBe("");
    const [ids, caps] = nnp.stdout.trim().split("\n");
    expect(ids).toBe("uid=1000 euid=1000 gid=1000 egid=1000");
    expect(parseCaps(caps!)).toMatchObject({ NoNewPrivs: "1", CapEff: NO_CAPS });
  });

  test("fork past --pids-limit 20: fork fails with EAGAIN and the container still exits", async () => {
    const t0 = performance.now();
    const r = await run(["--pids-limit", "20"], "/probe", "fork-until-fail", "200");
    expect(r.code).toBe(0);
    const [errno, forked] = r.stdout.trim().split(" ");
    expect(errno).toBe("EAGAIN");
    expect(Number(forked)).toBeGreaterThan(10);
    expect(Number(forked)).toBeLessThan(20);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

// ---------------------------------------------------------------- what stays possible

describe("a default container can still", () => {
  test("chown, bind port 80, open a ping socket, use the standard devices, trace its own processes", async () => {
    await expectOutcomes([], {
      "chown (CAP_CHOWN)": ["ok", ["chown", "/dev/shm", "1000", "1000"]],
      "bind port 80 (CAP_NET_BIND_SERVICE)": ["ok", ["bind-port", "80"]],
      "ping socket (CAP_NET_RAW)": ["ok", ["ping-socket"]],
      "mknod and open /dev/null (c 1:3)": ["ok", ["mknod-open", "c", "1", "3", "/dev/probe-null"]],
      "mknod and open /dev/zero (c 1:5)": ["ok", ["mknod-open", "c", "1", "5", "/dev/probe-zero"]],
      "open /dev/full, /dev/urandom, /dev/ptmx": ["ok ok ok", "/probe open /dev/full rw; /probe open /dev/urandom r; /probe open /dev/ptmx rw"],
      "mkdir": ["ok", ["mkdir", "/tmp/probe-dir"]],
      "ptrace a process of its own": ["ok", "sleep 5 & /probe ptrace $!; kill $!"],
    });
  });

  test("run the busybox applets the other e2e tests use", async () => {
    await expectOutcomes(["-h", "applets"], {
      sh: ["42", "sh -c 'echo $((6*7))'"],
      "trap and kill": ["trapped after", `sh -c 'trap "echo trapped" USR1; kill -USR1 $$; echo after'`],
      "kill, wait": ["143", "(sleep 5 & kill $!; wait $!; echo $?) 2>/dev/null"],
      echo: ["a b", "echo a  b"],
      cat: ["cat-me", "echo cat-me > /tmp/f; cat /tmp/f; rm /tmp/f"],
      cut: ["b", "echo a:b:c | cut -d: -f2"],
      dd: ["4096", "dd if=/dev/zero bs=1k count=4 2>/dev/null | wc -c"],
      env: ["A=1", "env -i A=1 env"],
      grep: ["2", "printf 'x\\ny\\nx\\n' | grep -c x"],
      "seq, head": ["1 2", "seq 5 | head -2"],
      tail: ["5", "seq 5 | tail -1"],
      hostname: ["applets", "hostname"],
      ls: ["/bin /etc", "ls -d /etc /bin"],
      "mkdir, touch, rm": ["f gone", "mkdir -p /tmp/d/e && touch /tmp/d/e/f && ls /tmp/d/e && rm -r /tmp/d && echo gone"],
      ps: ["1", "ps | grep -c '^ *1 '"],
      pwd: ["/etc", "cd /etc && pwd"],
      readlink: ["uts:", "readlink /proc/self/ns/uts | cut -c1-4"],
      sleep: ["slept", "sleep 0.01 && echo slept"],
      stat: ["character special file 1:3", "stat -c '%F %t:%T' /dev/null"],
      test: ["yes", "test -d /etc && [ -f /etc/passwd ] && echo yes"],
      tr: ["ABC", "echo abc | tr a-c A-C"],
      true: ["0", "true; echo $?"],
      wc: ["2", "printf 'a\\nb\\n' | wc -l"],
      which: ["/bin/ls", "which ls"],
      "cut /proc/self/mountinfo": ["1", "cut -d' ' -f5 /proc/self/mountinfo | grep -cx /proc"],
      "grep /proc/self/status": ["yes", "grep -q Cpus_allowed_list /proc/self/status && echo yes"],
    });
  });
});

// ---------------------------------------------------------------- the options

describe("capabilities, users, limits and profiles as docker sets them", () => {
  test("default: docker's 14 capabilities, none inheritable, seccomp filtering, no_new_privs off", async () => {
    expect(await capsOf([])).toEqual(DEFAULT_STATUS);
  });

  test("exec gets what the container's first process has", async () => {
    for (const flags of [[], ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]]) {
      const name = `escape-exec-${flags.length}`;
      const c = startContainer(["run", "-i", "--rm", "--name", name, "--rootfs", root, "-v", `${probe}:/probe:ro`, ...flags, "sh", "-c", "/probe caps; read x"]);
      const first = parseCaps(await c.line());
      const exec = await mydocker(["exec", name, "/probe", "caps"]);
      expect(parseCaps(exec.stdout)).toEqual(first);
      expect(first).toEqual(flags.length ? { ...DEFAULT_STATUS, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapBnd: NO_CAPS, NoNewPrivs: "1" } : DEFAULT_STATUS);
      expect((await c.finish()).code).toBe(0);
    }
  });

  test("--privileged: every capability mydocker has, no seccomp, no masks, host devices, writable /sys", async () => {
    const caps = await capsOf(["--privileged"]);
    expect({ CapEff: caps.CapEff, CapBnd: caps.CapBnd, Seccomp: caps.Seccomp }).toEqual({ CapEff: OWN_CAPS, CapBnd: OWN_CAPS, Seccomp: "0" });
    await expectOutcomes(["--privileged"], {
      "mount tmpfs": ["ok", ["mount", "tmpfs", "/tmp"]],
      "mknod and open /dev/kmsg": ["ok", ["mknod-open", "c", "1", "11", "/dev/probe-kmsg"]],
      "the host's /dev/kmsg is there": ["ok", ["open", "/dev/kmsg", "r"]],
      "/sys/firmware is not masked": [`ok ${readdirSync("/sys/firmware").length}`, ["list", "/sys/firmware"]],
      "/sys is writable": ["ok", ["write-back", "/sys/class/net/lo/mtu"]],
      "/proc/sys is writable (core_pattern written back)": ["ok", ["write-back", "/proc/sys/kernel/core_pattern"]],
    });
  });

  test("--cap-add SYS_ADMIN: mount and unshare are allowed, the profile follows the capability", async () => {
    expect(await capsOf(["--cap-add", "SYS_ADMIN"])).toMatchObject({ CapEff: "00000000a82425fb", Seccomp: "2" });
    await expectOutcomes(["--cap-add", "SYS_ADMIN"], {
      "mount tmpfs": ["ok", ["mount", "tmpfs", "/tmp"]],
      "unshare mnt": ["ok", ["unshare", "mnt"]],
      "still no modules": ["EPERM", ["delete-module"]],
    });
  });

  test("--cap-drop ALL: no capability left; chown, raw sockets and mknod fail with EPERM", async () => {
    expect(await capsOf(["--cap-drop", "ALL"])).toEqual({ ...DEFAULT_STATUS, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapBnd: NO_CAPS });
    await expectOutcomes(["--cap-drop", "ALL"], {
      chown: ["EPERM", ["chown", "/dev/shm", "1000", "1000"]],
      "ping socket": ["EPERM", ["ping-socket"]],
      mknod: ["mknod:EPERM", ["mknod-open", "c", "1", "3", "/dev/probe-null"]],
    });
  });

  test("--cap-drop CHOWN: chown fails with EPERM, the other 13 stay", async () => {
    expect(await capsOf(["--cap-drop", "CHOWN"])).toMatchObject({ CapEff: "00000000a80425fa", CapBnd: "00000000a80425fa" });
    await expectOutcomes(["--cap-drop", "CHOWN"], {
      chown: ["EPERM", ["chown", "/dev/shm", "1000", "1000"]],
      "bind port 80": ["ok", ["bind-port", "80"]],
    });
  });

  test("--user 1000:1000: no effective or permitted capabilities, docker's bounding set; --group-add adds a group", async () => {
    const r = await run(["--user", "1000:1000", "--group-add", "10"], "sh", "-c", "/probe caps; id -u; id -g; id -G");
    expect(r.stderr).toBe("");
    const [caps, uid, gid, groups] = r.stdout.trim().split("\n");
    expect(parseCaps(caps!)).toEqual({ ...DEFAULT_STATUS, CapPrm: NO_CAPS, CapEff: NO_CAPS });
    expect([uid, gid]).toEqual(["1000", "1000"]);
    expect(groups!.split(" ")).toContain("10");
    const plain = await run(["--user", "1000:1000"], "id");
    expect(plain.stdout).toMatch(/^uid=1000 gid=1000/);
  });

  test("--ulimit nofile=512:1024 sets the soft and hard limits", async () => {
    const r = await run(["--ulimit", "nofile=512:1024"], "sh", "-c", "ulimit -n; ulimit -Hn");
    expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: "512\n1024\n", stderr: "" });
  });

  test("--sysctl sets a namespaced key; a host-wide key is refused with 125 and one line", async () => {
    const hostForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const set = await run(["--sysctl", "net.ipv4.ip_forward=1"], "cat", "/proc/sys/net/ipv4/ip_forward");
    expect({ stdout: set.stdout, stderr: set.stderr }).toEqual({ stdout: "1\n", stderr: "" });
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostForward);
    const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8");
    const refused = await run(["--sysctl", "kernel.core_pattern=x"], "true");
    expect(refused.code).toBe(125);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("kernel.core_pattern");
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).toBe(corePattern);
  });

  test("--security-opt seccomp=unconfined: no filter; what the capabilities deny stays denied", async () => {
    expect(await capsOf(["--security-opt", "seccomp=unconfined"])).toEqual({ ...DEFAULT_STATUS, Seccomp: "0" });
    await expectOutcomes(["--security-opt", "seccomp=unconfined"], {
      "keyctl (only the filter denied it)": ["ok", ["keyctl"]],
      "mount (no CAP_SYS_ADMIN)": ["EPERM", ["mount", "tmpfs", "/tmp"]],
      "sethostname (no CAP_SYS_ADMIN)": ["EPERM", ["sethostname", "escaped"]],
      "settimeofday (no CAP_SYS_TIME)": ["EPERM", ["settimeofday"]],
      "open a loop device (device cgroup)": ["open:EPERM", ["mknod-open", "b", "7", "0", "/dev/probe-loop"]],
    });
  });

  test("--security-opt seccomp=PROFILE.json: the profile's rules, with its errno", async () => {
    const profile = join(vol, "profile.json");
    writeFileSync(profile, JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" },
        { names: ["chown", "fchown", "lchown", "fchownat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
      ],
    }));
    try {
      expect(await capsOf(["--security-opt", `seccomp=${profile}`])).toMatchObject({ CapEff: DOCKER_CAPS, Seccomp: "2" });
      await expectOutcomes(["--security-opt", `seccomp=${profile}`], {
        "mkdir (SCMP_ACT_ERRNO: EPERM)": ["EPERM", ["mkdir", "/tmp/probe-dir"]],
        "chown (errnoRet 13)": ["EACCES", ["chown", "/dev/shm", "0", "0"]],
        "the rest is allowed": ["ok", ["bind-port", "80"]],
      });
    } finally {
      rmSync(profile);
    }
  });

  test.skipIf(!HOST_DEVICE)("--device HOST:CONTAINER:r: the node is there and readable, not writable (needs a loop device on the host)", async () => {
    const st = statSync(HOST_DEVICE!);
    const [major, minor] = [(st.rdev >> 8) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)];
    await expectOutcomes(["--device", `${HOST_DEVICE}:/dev/probe-dev:r`, "--device", "/dev/null:/dev/probe-null"], {
      "stat": [`${st.isBlockDevice() ? "block" : "character"} special file ${major.toString(16)}:${minor.toString(16)}`, "stat -c '%F %t:%T' /dev/probe-dev"],
      "open r": ["ok", ["open", "/dev/probe-dev", "r"]],
      "open w": ["EPERM", ["open", "/dev/probe-dev", "w"]],
      "rwm by default": ["ok", ["open", "/dev/probe-null", "rw"]],
    });
  });
});
