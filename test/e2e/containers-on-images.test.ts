// Containers on images: an overlay of the image's layers under a writable layer of their own;
// diff, commit and export of what they changed; nothing reaches the image or another container.
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker, ROOTFS, TEST_DATA_ROOT } from "./helpers";

beforeAll(async () => {
  const r = await mydocker(["import", "--change", 'CMD ["echo", "from-cmd"]', "--change", "ENV GREETING=hi", "--change", "WORKDIR /etc", ROOTFS, "base:1"]);
  expect(r.code).toBe(0);
});
// every container layer goes with its container
checkHostAroundEachTest(() => {
  const containers = join(TEST_DATA_ROOT, "containers");
  expect(existsSync(containers) ? readdirSync(containers) : []).toEqual([]);
});

describe("run IMAGE", () => {
  test("the root is an overlay; the image's Cmd, Env and WorkingDir apply", async () => {
    expect((await mydocker(["run", "--rm", "base:1"])).stdout).toBe("from-cmd\n");
    const r = await mydocker(["run", "--rm", "base:1", "sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo | head -1; echo $GREETING $(pwd)"]);
    const [root, env] = r.stdout.trim().split("\n");
    expect(root).toMatch(/ \/ .* - overlay overlay .*lowerdir=/);
    expect(env).toBe("hi /etc");
    expect((await mydocker(["run", "--rm", "-w", "/tmp", "-e", "GREETING=bye", "base:1", "sh", "-c", "echo $GREETING $(pwd)"])).stdout).toBe("bye /tmp\n");
  });

  test("two containers on one image never see each other's writes; the image keeps what they delete", async () => {
    await mydocker(["run", "--name", "a", "base:1", "sh", "-c", "echo a > /mine; rm /etc/passwd"]);
    const b = await mydocker(["run", "--rm", "base:1", "sh", "-c", "ls /mine 2>&1; cat /etc/passwd | head -1"]);
    expect(b.stdout).toContain("No such file or directory");
    expect(b.stdout).toContain("root:x:0:0");
    expect(readFileSync(join(ROOTFS, "etc/passwd"), "utf8")).toContain("root:x:0:0");
  });

  test("--read-only with -w: the missing working directory is made before the root turns read-only", async () => {
    const r = await mydocker(["run", "--rm", "--read-only", "-w", "/made/here", "base:1", "pwd"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/made/here\n");
  });

  test("--read-only makes the image root refuse writes", async () => {
    const r = await mydocker(["run", "--rm", "--read-only", "base:1", "touch", "/x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("without an image name the default rootfs is the lower layer of the container's own: rootfs/ stays pristine", async () => {
    const r = await mydocker(["run", "--name", "plain", "/bin/sh", "-c", "echo x > /tmp/written-by-a-container; awk '$5 == \"/\"' /proc/self/mountinfo | head -1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(` / .* - overlay overlay .*lowerdir=${ROOTFS}[,:]`));
    expect(existsSync(join(ROOTFS, "tmp/written-by-a-container"))).toBe(false);
    const layer = JSON.parse((await mydocker(["inspect", "plain"])).stdout)[0].Id as string;
    expect(readFileSync(join(TEST_DATA_ROOT, "containers", layer, "upper/tmp/written-by-a-container"), "utf8")).toBe("x\n");
    expect((await mydocker(["rm", "plain"])).code).toBe(0);
    expect(existsSync(join(TEST_DATA_ROOT, "containers", layer))).toBe(false);
  });

  test("--rootfs DIR is used in place, as runc uses a bundle's root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mydocker-inplace-"));
    try {
      cpSync(ROOTFS, dir, { recursive: true, verbatimSymlinks: true });
      const r = await mydocker(["run", "--rm", "--rootfs", dir, "/bin/sh", "-c", "echo y > /tmp/in-place; head -1 /proc/self/mountinfo"]);
      expect(r.stdout).not.toContain("overlay");
      expect(readFileSync(join(dir, "tmp/in-place"), "utf8")).toBe("y\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rm removes the container's layer; rmi refuses an image a container uses", async () => {
    const id = (await mydocker(["run", "-d", "--name", "user", "base:1", "sleep", "60"])).stdout.trim();
    expect(existsSync(join(TEST_DATA_ROOT, "containers", id, "upper"))).toBe(true);
    const refused = await mydocker(["rmi", "base:1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is used by container/);
    await mydocker(["rm", "-f", "user"]);
    expect(existsSync(join(TEST_DATA_ROOT, "containers", id))).toBe(false);
  });
});

describe("diff, commit, export", () => {
  test("diff lists what the container added, changed and deleted", async () => {
    await mydocker(["run", "--name", "d", "base:1", "sh", "-c", "echo new > /new; echo more >> /etc/passwd; rm /etc/group; mkdir /opt"]);
    expect((await mydocker(["diff", "d"])).stdout).toBe(["C /etc", "D /etc/group", "C /etc/passwd", "A /new", "A /opt", ""].join("\n"));
  });

  test("commit: a stopped container's changes, deletions included, become a new image", async () => {
    await mydocker(["run", "--name", "c", "base:1", "sh", "-c", "echo committed > /etc/motd; rm /etc/group"]);
    const id = await mydocker(["commit", "c", "base:2"]);
    expect(id.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const r = await mydocker(["run", "--rm", "base:2", "sh", "-c", "cat /etc/motd; ls /etc/group 2>&1"]);
    expect(r.stdout).toBe("committed\nls: /etc/group: No such file or directory\n");
    expect((await mydocker(["run", "--rm", "base:2"])).stdout).toBe("from-cmd\n"); // the config carries over
    await mydocker(["rm", "c"]);
    expect((await mydocker(["rmi", "base:2"])).code).toBe(0);
  });

  test("commit works on a running container too", async () => {
    await mydocker(["run", "-d", "--name", "live", "base:1", "sh", "-c", "echo live > /live; sleep 60"]);
    await Bun.sleep(300);
    expect((await mydocker(["commit", "live", "base:live"])).code).toBe(0);
    expect((await mydocker(["ps"])).stdout).toMatch(/Up .*live$/m); // thawed again
    expect((await mydocker(["run", "--rm", "base:live", "cat", "/live"])).stdout).toBe("live\n");
    await mydocker(["rm", "-f", "live"]);
    await mydocker(["rmi", "base:live"]);
  });

  test("export writes the merged filesystem as a tar, running or stopped", async () => {
    const out = mkdtempSync(join(tmpdir(), "mydocker-export-"));
    try {
      await mydocker(["run", "--name", "x", "base:1", "sh", "-c", "echo exported > /exported"]);
      expect((await mydocker(["export", "x", "-o", join(out, "x.tar")])).code).toBe(0);
      const list = Bun.spawnSync(["tar", "-tf", join(out, "x.tar")]).stdout.toString().split("\n");
      expect(list).toContain("exported");
      expect(list).toContain("bin/busybox");
      const content = Bun.spawnSync(["tar", "-xOf", join(out, "x.tar"), "exported"]).stdout.toString();
      expect(content).toBe("exported\n");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("diff/commit of a container on a plain rootfs is a clear error", async () => {
    await mydocker(["run", "--name", "plain", "true"]);
    const r = await mydocker(["diff", "plain"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/runs on a plain rootfs/);
  });
});
