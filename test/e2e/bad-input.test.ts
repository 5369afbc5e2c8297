// Bad input: one line on stderr naming the problem, a non-zero exit (125, or 126/127 for the
// command), and the host exactly as before — no mount, cgroup, process or rootfs change.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectHostUnchanged, hostSnapshot, mydocker, MYDOCKER, ROOTFS, testEnv } from "./helpers";

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-badinput-"));
  writeFileSync(join(scratch, "a-file"), "not a directory\n");
  mkdirSync(join(scratch, "empty-root"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cases: [what: string, args: () => string[], code: number, names: RegExp][] = [
  ["rootfs missing", () => ["run", "--rootfs", join(scratch, "nope"), "sh"], 125, /rootfs .*nope does not exist/],
  ["rootfs not a directory", () => ["run", "--rootfs", join(scratch, "a-file"), "sh"], 125, /rootfs .*a-file is not a directory/],
  ["rootfs without the command", () => ["run", "--rootfs", join(scratch, "empty-root"), "/bin/sh"], 127, /\/bin\/sh: no such file/],
  ["command not in the rootfs' PATH (--rootfs: the word is never an image)", () => ["run", "--rootfs", ROOTFS, "no-such-command"], 127, /no-such-command: executable file not found in \$PATH/],
  ["neither an image nor a command of the rootfs", () => ["run", "no-such-command"], 125, /Unable to find image 'no-such-command:latest' locally/],
  ["-m 10x", () => ["run", "-m", "10x", "sh"], 125, /invalid --memory "10x"/],
  ["-m 0", () => ["run", "-m", "0", "sh"], 125, /invalid --memory "0": must be greater than 0/],
  ["--cpus -1", () => ["run", "--cpus", "-1", "sh"], 125, /invalid --cpus "-1"/],
  ["--cpuset-cpus 99", () => ["run", "--cpuset-cpus", "99", "sh"], 125, /CPU 99 does not exist/],
  ["--cpu-shares 1", () => ["run", "--cpu-shares", "1", "sh"], 125, /invalid --cpu-shares "1"/],
  // the kernel's refusal (a CFS quota under 1 ms) comes while the cgroup is made, after the init
  // has its orders (on cgroup v1) or before its spawn (v2)
  ["a limit only the kernel refuses (--cpus 0.001)", () => ["run", "--cpus", "0.001", "sh"], 125, /write cpu\.(cfs_quota_us|max): EINVAL/],
  ["--pids-limit ten", () => ["run", "--pids-limit", "ten", "sh"], 125, /invalid --pids-limit "ten"/],
  ["a relative --workdir", () => ["run", "-w", "tmp", "sh"], 125, /invalid --workdir "tmp"/],
  ["an unknown option", () => ["run", "--bogus", "sh"], 125, /unknown flag: --bogus/],
  ["an unknown short option", () => ["run", "-z", "sh"], 125, /unknown shorthand flag: 'z'/],
  ["a flag without its value", () => ["run", "-m"], 125, /flag needs an argument: -m/],
  ["no command", () => ["run", "-ti"], 125, /requires at least 1 argument/],
  ["an unknown subcommand (exit 1, as docker)", () => ["runn", "sh"], 1, /unknown command "runn"/],
  ["a bad --log-format", () => ["run", "--log-format", "xml", "sh"], 125, /invalid --log-format "xml"/],
  ["an empty --rootfs (not the current directory)", () => ["run", "--rootfs", "", "sh"], 125, /invalid --rootfs: empty path/],
  ["--rootfs / (the host's own root)", () => ["run", "--rootfs", "/", "sh"], 125, /invalid --rootfs \/: the host's own root/],
  ["an unknown capability", () => ["run", "--cap-add", "FLY", "sh"], 125, /invalid --cap-add "FLY": unknown capability/],
  ["a bad --security-opt", () => ["run", "--security-opt", "apparmor-ish", "sh"], 125, /invalid --security-opt "apparmor-ish"/],
  ["a missing seccomp profile", () => ["run", "--security-opt", "seccomp=/no/such.json", "sh"], 125, /seccomp=\/no\/such.json": ENOENT/],
  ["a seccomp profile that is not JSON", () => ["run", "--security-opt", `seccomp=${join(scratch, "a-file")}`, "sh"], 125, /seccomp profile .*a-file/],
  ["a host-wide --sysctl", () => ["run", "--sysctl", "kernel.core_pattern=|/x", "sh"], 125, /kernel.core_pattern is not namespaced/],
  ["a bad --ulimit", () => ["run", "--ulimit", "nofile=9:1", "sh"], 125, /soft limit 9 is above the hard limit 1/],
  ["a --device that is not a device", () => ["run", "--device", join(scratch, "a-file"), "sh"], 125, /invalid --device/],
  ["a bad --user", () => ["run", "--user", "a:b:c", "sh"], 125, /invalid --user "a:b:c"/],
  ["a --user unknown in the container", () => ["run", "--user", "nosuchuser", "sh"], 125, /unable to find user nosuchuser/],
  ["a non-tmpfs option to --tmpfs", () => ["run", "--tmpfs", "/x:bind", "sh"], 125, /--tmpfs.*bind/],
];

describe("bad input to run", () => {
  for (const [what, args, code, names] of cases) {
    test(what, async () => {
      const before = hostSnapshot();
      const r = await mydocker(args());
      expect(r.code).toBe(code);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(names);
      await expectHostUnchanged(before);
    });
  }

  test("not root", async () => {
    const before = hostSnapshot();
    const proc = Bun.spawn([MYDOCKER, "run", "sh"], { uid: 65534, gid: 65534, stderr: "pipe", stdout: "pipe", env: testEnv() });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(125);
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/must be run as root/)]);
    await expectHostUnchanged(before);
  });
});
