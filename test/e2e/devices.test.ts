// Devices from inside a container: docker's allow list by default (cgroup v1 devices.allow/deny
// here, a BPF program on a cgroup2 host such as the `make test-vm` guest), --device to add one
// node, --privileged for all of them. Nodes the tests make go to the container's /dev (a tmpfs),
// never to the rootfs.
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S_IFBLK, mknod, splitDev } from "../../ffi/fs";
import { checkHostAroundEachTest, containerCgroupDir, mydocker, startContainer } from "./helpers";

checkHostAroundEachTest();

const V1 = !existsSync("/sys/fs/cgroup/cgroup.controllers");

/** A block device root can open for reading on this host (the disk holding /, when the sandbox
 *  allows it; else the first the kernel lists that opens): so a refusal comes from the cgroup. */
function openableBlockDevice(): { major: number; minor: number } {
  const root = splitDev(statSync("/", { bigint: true }).dev);
  const listed = readdirSync("/sys/dev/block").map((n) => n.split(":").map(Number) as [number, number]);
  const dir = mkdtempSync(join(tmpdir(), "mydocker-blk-"));
  try {
    for (const [major, minor] of [[root.major, root.minor], ...listed]) {
      if (!major) continue;
      mknod(`${dir}/${major}-${minor}`, S_IFBLK | 0o600, major, minor);
      try {
        closeSync(openSync(`${dir}/${major}-${minor}`, "r"));
        return { major, minor };
      } catch {}
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
  throw new Error("no block device on this host can be opened for reading");
}
const block = openableBlockDevice();

/**
 * Shell that prints "name: ok" or "name: <strerror>" for each attempt. kmsg (c 1:11) is the
 * classic escape, but its open also needs CAP_SYSLOG when dmesg_restrict is set; /dev/fuse
 * (c 10:229) needs no capability to open, so its refusal can only come from the device cgroup.
 */
const PROBE = `
  try() { n=$1; shift; if out=$("$@" 2>&1); then echo "$n: ok"; else echo "$n: \${out##*: }"; fi; }
  try null sh -c 'echo x > /dev/null'
  try mknod-kmsg mknod /dev/t-kmsg c 1 11
  try open-kmsg dd if=/dev/t-kmsg of=/dev/null count=0
  try mknod-fuse mknod /dev/t-fuse c 10 229
  try open-fuse dd if=/dev/t-fuse of=/dev/null count=0
  try mknod-block mknod /dev/t-block b ${block.major} ${block.minor}
  try read-block dd if=/dev/t-block of=/dev/null count=1`;
const results = (stdout: string) => Object.fromEntries(stdout.trim().split("\n").map((l) => l.split(": ") as [string, string]));

const DOCKER_LIST = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"];

describe("devices", () => {
  test("by default: /dev/null works, any node can be made, but kmsg, fuse and a host block device do not open", async () => {
    const r = await mydocker(["run", "--rm", "sh", "-c", PROBE]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(results(r.stdout)).toEqual({
      null: "ok",
      "mknod-kmsg": "ok",
      "open-kmsg": "Operation not permitted",
      "mknod-fuse": "ok",
      "open-fuse": "Operation not permitted",
      "mknod-block": "ok",
      "read-block": "Operation not permitted",
    });
  });

  test("the standard nodes all work: read zero, urandom; write null, full gives ENOSPC", async () => {
    const r = await mydocker(["run", "--rm", "sh", "-c", "head -c 3 /dev/zero | wc -c; head -c 5 /dev/urandom | wc -c; echo x > /dev/null && echo null; echo x > /dev/full || true"]);
    expect(r.stdout.trim().split("\n").map((l) => l.trim())).toEqual(["3", "5", "null"]);
    expect(r.stderr).toMatch(/No space left on device/);
  });

  test.skipIf(!V1)("v1: the container's devices.list is docker's list while it runs", async () => {
    const c = startContainer(["run", "-i", "--rm", "sh", "-c", "echo $HOSTNAME; read x"]);
    try {
      const id = await c.line();
      expect(readFileSync(join(containerCgroupDir(id, "devices"), "devices.list"), "utf8").trim().split("\n")).toEqual(DOCKER_LIST);
    } finally {
      expect((await c.finish()).code).toBe(0);
    }
  });

  test("--device HOST:CONTAINER:r makes the node and allows reading it only", async () => {
    // fuse (c 10:229) is not in docker's list; `: >` opens for writing and writes nothing
    const r = await mydocker(["run", "--rm", "--device", "/dev/fuse:/dev/myfuse:r", "sh", "-c", "stat -c '%t:%T %F' /dev/myfuse; dd if=/dev/myfuse of=/dev/null count=0 2>/dev/null && echo read; : > /dev/myfuse"]);
    expect(r.stdout.trim().split("\n")).toEqual(["a:e5 character special file", "read"]);
    expect(r.stderr.trim()).toMatch(/^sh: can't create \/dev\/myfuse: Operation not permitted$/);
    expect(r.code).toBe(1);
  });

  test("--device of a block device (read, write, mknod by default) opens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mydocker-blkdev-"));
    try {
      mknod(`${dir}/blk`, S_IFBLK | 0o600, block.major, block.minor);
      const r = await mydocker(["run", "--rm", "--device", `${dir}/blk:/dev/xblk`, "sh", "-c", "dd if=/dev/xblk of=/dev/null count=1 2>/dev/null && echo read"]);
      expect(r.stdout.trim()).toBe("read");
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test.each([
    ["/etc/hostname", "not a character or block device"],
    ["/no/such/dev", "ENOENT"],
    ["/dev/null:/dev/x:rwx", 'permissions "rwx" must be a non-empty subset of "rwm"'],
  ])("--device %p is refused: one line, exit 125, nothing left", async (flag, why) => {
    const r = await mydocker(["run", "--device", flag, "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(`invalid --device "${flag}": ${why}`)]);
  });

  test("--privileged: every device opens, and the host's nodes are in /dev", async () => {
    const r = await mydocker(["run", "--rm", "--privileged", "sh", "-c", `${PROBE}; stat -c 'kmsg: %t:%T' /dev/kmsg`]);
    expect(r.stderr).toBe("");
    expect(results(r.stdout)).toEqual({
      null: "ok", "mknod-kmsg": "ok", "open-kmsg": "ok", "mknod-fuse": "ok", "open-fuse": "ok", "mknod-block": "ok", "read-block": "ok", kmsg: "1:b",
    });
  });
});
