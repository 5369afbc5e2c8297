// -v HOST:CTR[:ro], -v NAME:CTR, --tmpfs, --read-only, and the volume commands.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker, ROOTFS, TEST_DATA_ROOT } from "./helpers";

let host: string;
let root: string;
beforeAll(() => {
  host = mkdtempSync(join(tmpdir(), "mydocker-vol-"));
  writeFileSync(join(host, "from-host"), "hello\n");
  // On a plain rootfs (no image layer) mount points that do not exist are made in the rootfs
  // itself, as runc does: these tests use a copy of it.
  root = mkdtempSync(join(tmpdir(), "mydocker-vol-root-"));
  cpSync(ROOTFS, root, { recursive: true, verbatimSymlinks: true });
});
afterAll(() => {
  rmSync(host, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});
/** `mydocker run --rootfs <the copy> ...` */
const run = (...args: string[]) => mydocker(["run", "--rootfs", root, ...args]);
checkHostAroundEachTest();

describe("bind mounts", () => {
  test("a host directory is shared both ways; :ro refuses writes with EROFS", async () => {
    const r = await run("--rm", "-v", `${host}:/data`, "-v", `${host}:/ro:ro`, "sh", "-c", "cat /data/from-host; echo back > /data/from-ctr; echo x > /ro/nope");
    expect(r.stdout).toBe("hello\n");
    expect(r.stderr).toContain("Read-only file system");
    expect(readFileSync(join(host, "from-ctr"), "utf8")).toBe("back\n");
    expect(existsSync(join(host, "nope"))).toBe(false);
    rmSync(join(host, "from-ctr"));
  });

  test(":ro is read-only all the way down and keeps the source's nosuid, nodev, noexec", async () => {
    const src = join(host, "flags");
    mkdirSync(join(src), { recursive: true });
    Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec", "tmpfs", src]);
    try {
      mkdirSync(join(src, "sub"));
      Bun.spawnSync(["mount", "-t", "tmpfs", "tmpfs", join(src, "sub")]);
      const r = await run("--rm", "-v", `${src}:/ro:ro`, "sh", "-c", "grep -E ' /ro(/sub)? ' /proc/self/mountinfo | cut -d' ' -f5,6; touch /ro/sub/x");
      expect(r.stdout).toBe("/ro ro,nosuid,nodev,noexec,relatime\n/ro/sub ro,relatime\n");
      expect(r.stderr).toContain("Read-only file system");
    } finally {
      // inner first (busybox umount, in the test VM, has no -R)
      Bun.spawnSync(["umount", join(src, "sub")]);
      Bun.spawnSync(["umount", src]);
      rmSync(src, { recursive: true, force: true });
    }
  });

  test("a missing host directory is created; a single file can be bound", async () => {
    const made = join(host, "made", "here");
    const r = await run("--rm", "-v", `${made}:/m`, "-v", `${join(host, "from-host")}:/etc/greeting:ro`, "sh", "-c", "touch /m/x; cat /etc/greeting");
    expect(r.stdout).toBe("hello\n");
    expect(existsSync(join(made, "x"))).toBe(true);
    rmSync(join(host, "made"), { recursive: true });
  });

  test("removing a container never deletes what is in its volumes", async () => {
    await run("-d", "--name", "keeper", "-v", `${host}:/data`, "sh", "-c", "echo kept > /data/kept; sleep 60");
    await Bun.sleep(300);
    expect((await mydocker(["rm", "-f", "keeper"])).code).toBe(0);
    expect(readFileSync(join(host, "kept"), "utf8")).toBe("kept\n");
    expect(readFileSync(join(host, "from-host"), "utf8")).toBe("hello\n");
    rmSync(join(host, "kept"));
  });
});

describe("named volumes", () => {
  test("data survives the container; volume ls/inspect/rm; rm refuses a volume in use", async () => {
    expect((await run("--rm", "-v", "notes:/notes", "sh", "-c", "echo 1 > /notes/n")).code).toBe(0);
    expect((await run("--rm", "-v", "notes:/notes:ro", "cat", "/notes/n")).stdout).toBe("1\n");
    expect((await mydocker(["volume", "ls", "-q"])).stdout).toBe("notes\n");
    const [info] = JSON.parse((await mydocker(["volume", "inspect", "notes"])).stdout);
    expect(info.Mountpoint).toBe(join(TEST_DATA_ROOT, "volumes", "notes", "_data"));
    await run("--name", "user", "-v", "notes:/notes", "true");
    const refused = await mydocker(["volume", "rm", "notes"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/volume notes is in use by container/);
    await mydocker(["rm", "user"]);
    expect((await mydocker(["volume", "rm", "notes"])).code).toBe(0);
    expect(existsSync(join(TEST_DATA_ROOT, "volumes", "notes"))).toBe(false);
  });

  test("volume create is idempotent; unknown volumes are errors", async () => {
    expect((await mydocker(["volume", "create", "v1"])).stdout).toBe("v1\n");
    expect((await mydocker(["volume", "create", "v1"])).code).toBe(0);
    expect((await mydocker(["volume", "rm", "v1"])).code).toBe(0);
    const r = await mydocker(["volume", "rm", "v1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("No such volume: v1");
  });
});

describe("tmpfs and a read-only root", () => {
  test("--tmpfs mounts a tmpfs with its options; --read-only makes / refuse writes but not volumes", async () => {
    const r = await run("--rm", "--read-only", "--tmpfs", "/scratch:size=1m", "sh", "-c", "grep ' /scratch ' /proc/self/mountinfo; touch /scratch/ok && echo scratch-ok; touch /nope");
    expect(r.stdout).toMatch(/ \/scratch rw,nosuid,nodev.* - tmpfs tmpfs rw,size=1024k/);
    expect(r.stdout).toContain("scratch-ok");
    expect(r.stderr).toContain("Read-only file system");
  });
});

describe("bad specs are one-line errors that leave nothing behind", () => {
  for (const [spec, msg] of [
    ["relative/path:/x", /host path must be absolute/],
    ["/tmp", /expected HOST_PATH:CONTAINER_PATH/],
    ["/tmp:/", /cannot mount a volume on \//],
    ["/tmp:relative", /container path must be absolute/],
    ["/tmp:/x:rx", /mode must be ro or rw/],
  ] as const) {
    test(`-v ${spec}`, async () => {
      const r = await run("--rm", "-v", spec, "true");
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(msg)]);
    });
  }

  test("a name already in use: no host directory and no volume is made for it", async () => {
    await run("-d", "--name", "taken", "sleep", "60");
    const r = await run("--name", "taken", "-v", `${join(host, "nope", "a")}:/a`, "-v", "unborn:/b", "true");
    expect(r.code).toBe(125);
    expect(existsSync(join(host, "nope"))).toBe(false);
    expect(existsSync(join(TEST_DATA_ROOT, "volumes", "unborn"))).toBe(false);
  });

  test("a bad -v after a good one creates nothing for the good one", async () => {
    const r = await run("--rm", "-v", `${join(host, "not-yet")}:/a`, "-v", "bad", "true");
    expect(r.code).toBe(125);
    expect(existsSync(join(host, "not-yet"))).toBe(false);
  });
});
