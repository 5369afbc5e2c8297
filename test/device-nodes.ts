// Device nodes for the device-access tests (unit and e2e), made on the host and always removed.
// Two things differ between this host and the `make test-vm` guest: the guest's /tmp is a
// `nodev` tmpfs (a node there never opens), and the guest may have no block device at all.
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S_IFBLK, S_IFCHR, mknod, splitDev } from "../ffi/fs";

/** A new empty directory on a filesystem where device nodes open (tmpdir, else /dev); remove it. */
export function nodeScratchDir(): string {
  for (const base of [tmpdir(), "/dev"]) {
    const dir = mkdtempSync(join(base, "mydocker-nodes-"));
    try {
      mknod(`${dir}/null`, S_IFCHR | 0o600, 1, 3);
      closeSync(openSync(`${dir}/null`, "r"));
      rmSync(`${dir}/null`);
      return dir;
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error("no directory here lets a device node open (every candidate is nodev)");
}

let cached: { major: number; minor: number } | null | undefined;

/**
 * A block device this process can open for reading: the one holding / when it can (this sandbox
 * refuses even root an open of its disk), else the first the kernel lists that opens; null when
 * there is none (the VM guest may have no disk). A refusal in a cgroup then comes from the cgroup.
 */
export function openableBlockDevice(): { major: number; minor: number } | null {
  if (cached !== undefined) return cached;
  const root = splitDev(statSync("/", { bigint: true }).dev);
  const listed = readdirSync("/sys/dev/block").map((n) => n.split(":").map(Number) as [number, number]);
  const candidates: [number, number][] = [[root.major, root.minor], ...listed];
  const dir = nodeScratchDir();
  try {
    for (const [major, minor] of candidates) {
      if (!major) continue; // 0: an anonymous device (tmpfs, overlay), not a block device
      const node = `${dir}/${major}-${minor}`;
      mknod(node, S_IFBLK | 0o600, major, minor);
      try {
        closeSync(openSync(node, "r"));
        return (cached = { major, minor });
      } catch {}
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
  return (cached = null);
}
