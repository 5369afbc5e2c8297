// container/image/volume/system prune: what nothing uses goes, with docker's "Deleted ..." and
// "Total reclaimed space" lines; what a container uses stays; without -f and no terminal, refused.
// Each test has state and data roots of its own: prune must not see other test files' leftovers.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { dismantleTestNetworks } from "../networks";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectHostUnchanged, hostSnapshot, mydocker as run, ROOTFS, type HostSnapshot } from "./helpers";

let roots: { MYDOCKER_ROOT: string; MYDOCKER_DATA_ROOT: string };
let before: HostSnapshot;
const mydocker = (args: string[]) => run(args, { env: roots });

beforeEach(() => {
  before = hostSnapshot();
  roots = { MYDOCKER_ROOT: mkdtempSync(join(tmpdir(), "mydocker-prune-root-")), MYDOCKER_DATA_ROOT: mkdtempSync(join(tmpdir(), "mydocker-prune-data-")) };
});
afterEach(async () => {
  const left = (await mydocker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
  if (left.length) await mydocker(["rm", "-f", ...left]);
  await expectHostUnchanged(before);
  dismantleTestNetworks(roots.MYDOCKER_DATA_ROOT); // its bridge and nftables table are host-wide
  rmSync(roots.MYDOCKER_ROOT, { recursive: true, force: true });
  rmSync(roots.MYDOCKER_DATA_ROOT, { recursive: true, force: true });
});

describe("prune", () => {
  test("container prune removes stopped containers only, with their layers", async () => {
    const stopped = (await mydocker(["run", "--name", "done", "sh", "-c", "head -c 100000 /dev/zero > /big"])).code;
    expect(stopped).toBe(0);
    const doneId = JSON.parse((await mydocker(["inspect", "done"])).stdout)[0].Id;
    await mydocker(["run", "-d", "--name", "up", "sleep", "60"]);
    const r = await mydocker(["container", "prune", "-f"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`Deleted Containers:\n${doneId}\n\nTotal reclaimed space: 100kB\n`);
    expect((await mydocker(["ps", "-a", "--format", "{{.Names}}"])).stdout).toBe("up\n");
    expect(existsSync(join(roots.MYDOCKER_DATA_ROOT, "containers", doneId))).toBe(false);
    expect((await mydocker(["container", "prune", "-f"])).stdout).toBe("Total reclaimed space: 0B\n");
  });

  test("image prune: dangling ones; -a every image no container uses", async () => {
    expect((await mydocker(["import", ROOTFS, "keep:1"])).code).toBe(0);
    const dangling = (await mydocker(["import", "--change", "ENV A=1", ROOTFS])).stdout.trim();
    await mydocker(["run", "--name", "user", "keep:1", "true"]);
    const r = await mydocker(["image", "prune", "-f"]);
    expect(r.stdout).toBe(`Deleted Images:\ndeleted: ${dangling}\n\nTotal reclaimed space: 0B\n`); // its layer is keep:1's too
    const a = await mydocker(["image", "prune", "-a", "-f"]);
    expect(a.stdout).toBe("Total reclaimed space: 0B\n"); // keep:1 is used by a stopped container
    await mydocker(["rm", "user"]);
    const all = await mydocker(["image", "prune", "-a", "-f"]);
    expect(all.stdout).toMatch(/^Deleted Images:\nuntagged: keep:1\ndeleted: sha256:[0-9a-f]{64}\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [\d.]+[kM]B\n$/);
    expect((await mydocker(["images", "-q"])).stdout).toBe("");
  });

  test("volume prune keeps volumes a container mounts; the groups still run their other verbs", async () => {
    await mydocker(["volume", "create", "used"]);
    await mydocker(["volume", "create", "spare"]);
    await mydocker(["run", "--name", "holder", "-v", "used:/data", "true"]);
    const r = await mydocker(["volume", "prune", "-f"]);
    expect(r.stdout).toBe("Deleted Volumes:\nspare\n\nTotal reclaimed space: 0B\n");
    expect((await mydocker(["volume", "ls", "-q"])).stdout).toBe("used\n");
    expect((await mydocker(["container", "ls", "-a", "--format", "{{.Names}}"])).stdout).toBe("holder\n");
  });

  test("system prune: containers, then volumes with --volumes, then images", async () => {
    await mydocker(["import", ROOTFS, "old:1"]);
    await mydocker(["volume", "create", "v1"]);
    const id = (await mydocker(["run", "-d", "--name", "gone", "old:1", "true"])).stdout.trim();
    await mydocker(["wait", "gone"]);
    const r = await mydocker(["system", "prune", "-a", "--volumes", "-f"]);
    expect(r.stdout).toMatch(new RegExp(`^Deleted Containers:\\n${id}\\n\\nDeleted Volumes:\\nv1\\n\\nDeleted Images:\\nuntagged: old:1\\ndeleted: sha256:[0-9a-f]{64}\\ndeleted: sha256:[0-9a-f]{64}\\n\\nTotal reclaimed space: \\S+\\n$`));
  });

  test("without -f and without a terminal: refused, nothing removed", async () => {
    await mydocker(["run", "--name", "stays", "true"]);
    for (const args of [["container", "prune"], ["image", "prune"], ["volume", "prune"], ["system", "prune"]]) {
      const r = await mydocker(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("use -f");
    }
    expect((await mydocker(["ps", "-aq"])).stdout.trim()).not.toBe("");
  });
});

describe("history", () => {
  test("newest first: the top row names the image, older ones <missing>; -q, --no-trunc, --format", async () => {
    expect((await mydocker(["import", "-m", "first import", ROOTFS, "h:1"])).code).toBe(0);
    await mydocker(["run", "--name", "hc", "h:1", "sh", "-c", "echo x > /y"]);
    const id = (await mydocker(["commit", "hc", "h:2"])).stdout.trim();
    const r = await mydocker(["history", "h:2"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^IMAGE {10}CREATED +CREATED BY +SIZE {6}COMMENT$/);
    // columns are padded to their widest value ("1 second ago" vs "2 seconds ago")
    expect(lines[1]).toMatch(new RegExp(`^${id.slice(7, 19)} {3}.+ ago {3,}mydocker commit hc {3,}2B$`));
    expect(lines[2]).toMatch(/^<missing> {6}.+ ago {3,}mydocker import \S+ {3,}[\d.]+[kM]B {3,}first import$/);
    expect((await mydocker(["history", "-q", "--no-trunc", "h:2"])).stdout).toBe(`${id}\n<missing>\n`);
    const json = (await mydocker(["history", "--format", "json", "h:1"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(Object.keys(json[0]).sort()).toEqual(["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"]);
    expect((await mydocker(["history", "--format", "{{.Comment}}", "h:1"])).stdout).toBe("first import\n");
    expect((await mydocker(["history", "nosuch"])).stderr).toContain("No such image: nosuch");
  });
});
