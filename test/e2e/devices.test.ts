// Devices from inside a container: docker's allow list by default (cgroup v1 devices.allow/deny
// here, a BPF program on a cgroup2 host such as the `make test-vm` guest), --device to add one
// node, --privileged for all of them. Nodes the tests make inside go to the container's /dev (a
// tmpfs), never to the rootfs.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { S_IFBLK, mknod } from "../../ffi/fs";
import { nodeScratchDir, openableBlockDevice } from "../device-nodes";
import { checkHostAroundEachTest, containerCgroupDir, mydocker, startContainer } from "./helpers";

checkHostAroundEachTest();

const V1 = !existsSync("/sys/fs/cgroup/cgroup.controllers");
const block = openableBlockDevice();
const BLOCK_NOTE = block ? "" : " (no openable block device on this machine: block checks left out)";

/**
 * Shell that prints "name: ok" or "name: <strerror>" for each attempt. kmsg (c 1:11) is opened
 * for writing with `: >` (nothing is written): unlike a read open, that needs no CAP_SYSLOG, so a
 * refusal can only come from the device cgroup. Opening a block device needs no capability.
 */
const PROBE = `
  try() { n=$1; shift; if out=$("$@" 2>&1); then echo "$n: ok"; else echo "$n: \${out##*: }"; fi; }
  try null sh -c 'echo x > /dev/null'
  try mknod-kmsg mknod /dev/t-kmsg c 1 11
  try open-kmsg sh -c ': > /dev/t-kmsg'
  ${block ? `try mknod-block mknod /dev/t-block b ${block.major} ${block.minor}` : ""}
  ${block ? "try read-block dd if=/dev/t-block of=/dev/null count=1" : ""}`;
const results = (stdout: string) => Object.fromEntries(stdout.trim().split("\n").map((l) => l.split(": ") as [string, string]));
const expected = (open: string) => ({ null: "ok", "mknod-kmsg": "ok", "open-kmsg": open, ...(block ? { "mknod-block": "ok", "read-block": open } : {}) });

const DOCKER_LIST = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"];

describe("devices", () => {
  test(`by default: /dev/null works, any node can be made, but kmsg and a host block device do not open${BLOCK_NOTE}`, async () => {
    const r = await mydocker(["run", "--rm", "sh", "-c", PROBE]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(results(r.stdout)).toEqual(expected("Operation not permitted"));
  });

  test("the standard nodes all work: read zero, urandom; write null; full gives ENOSPC", async () => {
    const r = await mydocker(["run", "--rm", "sh", "-c", "head -c 3 /dev/zero | wc -c; head -c 5 /dev/urandom | wc -c; echo x > /dev/null && echo null; echo x > /dev/full || true"]);
    expect(r.stdout.trim().split("\n").map((l) => l.trim())).toEqual(["3", "5", "null"]);
    expect(r.stderr).toMatch(/No space left on device/);
  });

  test.skipIf(!V1)(`the container's devices.list is docker's list while it runs${V1 ? "" : " (skipped: v1 only; a cgroup2 host has no devices.list)"}`, async () => {
    const c = startContainer(["run", "-i", "--rm", "sh", "-c", "echo $HOSTNAME; read x"]);
    try {
      const id = await c.line();
      expect(readFileSync(join(containerCgroupDir(id, "devices"), "devices.list"), "utf8").trim().split("\n")).toEqual(DOCKER_LIST);
    } finally {
      expect((await c.finish()).code).toBe(0);
    }
  });

  test("--device HOST:CONTAINER:w makes the node and allows what it names", async () => {
    const r = await mydocker(["run", "--rm", "--device", "/dev/kmsg:/dev/mykmsg:w", "sh", "-c", "stat -c '%t:%T %F' /dev/mykmsg; : > /dev/mykmsg && echo opened"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["1:b character special file", "opened"]);
  });

  test.skipIf(!block)(`--device of a block device (default permissions rwm) reads${BLOCK_NOTE}`, async () => {
    const dir = nodeScratchDir();
    try {
      mknod(`${dir}/blk`, S_IFBLK | 0o600, block!.major, block!.minor);
      const r = await mydocker(["run", "--rm", "--device", `${dir}/blk:/dev/xblk`, "sh", "-c", "dd if=/dev/xblk of=/dev/null count=1 2>/dev/null && echo read"]);
      expect(r.stdout.trim()).toBe("read");
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test.each([
    ["/etc/passwd", "not a character or block device"],
    ["/no/such/dev", "ENOENT"],
    ["/dev/null:/dev/x:rwx", 'permissions "rwx" must be a non-empty subset of "rwm"'],
  ])("--device %p is refused: one line, exit 125, nothing left", async (flag, why) => {
    const r = await mydocker(["run", "--device", flag, "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(`invalid --device "${flag}": ${why}`)]);
  });

  test(`--privileged: every device opens, and the host's nodes are in /dev${BLOCK_NOTE}`, async () => {
    const r = await mydocker(["run", "--rm", "--privileged", "sh", "-c", `${PROBE}\nstat -c 'kmsg: %t:%T' /dev/kmsg`]);
    expect(r.stderr).toBe("");
    expect(results(r.stdout)).toEqual({ ...expected("ok"), kmsg: "1:b" });
  });
});
