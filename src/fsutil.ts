// The file primitives every store of mydocker uses (containers, images, OCI records): an atomic
// write, a flock(2)-based lock and a tree removal. One of each, so that they behave the same everywhere.
import { closeSync, constants as C, fsyncSync, lstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { LOCK_EX, LOCK_SH, flock } from "../ffi/lock";

/**
 * Replaces `path` with `data` all at once: a temp file beside it (`<path>.tmp-<pid>`, which the
 * stores' sweeps recognise when its writer died), written, fsync'd and renamed over `path`
 * (rename(2) is atomic and replaces a symlink at `path`, never its target; O_NOFOLLOW refuses a
 * symlink planted as the temp file). On failure the temp file is removed and the error thrown.
 *
 * `durable: false` skips the fsync: the rename alone is atomic for every reader and against a
 * killed writer (the page cache is shared); the fsync only adds survival of a power loss, for the
 * price of a disk flush (~0.5-1 ms here). The runtime state (the `--root`, /run/mydocker, like
 * runc's /run/runc) describes processes that a power loss ends anyway, so it is written without.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, { durable = true } = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW, mode);
    try {
      const b = typeof data === "string" ? Buffer.from(data) : data;
      for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const held = new Map<string, { fd: number; depth: number }>();

/**
 * Runs `fn` holding a flock(2) on the file at `path` (made when missing, never through a
 * symlink). Re-entrant within this process for the same path. The kernel releases the lock when
 * the fd closes — also when its holder is killed — so a crashed mydocker never leaves it stale.
 * `fn` may return a promise: the lock is then held until it settles.
 */
export function withFileLock<T>(path: string, fn: () => T, mode: "exclusive" | "shared" = "exclusive"): T {
  const mine = held.get(path);
  if (mine) {
    mine.depth++;
    return finallyDo(fn, () => void mine.depth--);
  }
  const fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_APPEND | C.O_NOFOLLOW, 0o600);
  try {
    flock(fd, mode === "shared" ? LOCK_SH : LOCK_EX);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const entry = { fd, depth: 1 };
  held.set(path, entry);
  return finallyDo(fn, () => {
    if (--entry.depth === 0) {
      held.delete(path);
      closeSync(fd); // releases the lock
    }
  });
}

/** Whether this process holds the lock at `path` (inside withFileLock). */
export const isLockHeld = (path: string) => held.has(path);

function finallyDo<T>(fn: () => T, after: () => void): T {
  let result: T;
  try {
    result = fn();
  } catch (e) {
    after();
    throw e;
  }
  if (result instanceof Promise) return result.finally(after) as T;
  after();
  return result;
}

/** How many walks removeTree makes before it gives up on a tree that keeps changing. */
const REMOVE_WALKS = 20;

/**
 * `rm -rf path`, checked: the path is gone when this returns, else it throws. Bun's
 * rmSync({ recursive, force }) returns without an error, having removed only part of the tree,
 * when an entry vanishes while it walks (the ENOENT of a child is taken for the missing path that
 * `force` forgives: oven-sh/bun#36984, #37155) or appears before the rmdir(2). A monitor ending
 * beside `rm` does both (it unlinks its attach socket, a flock creates the lock file), and the
 * record or layer left behind was a container without a state (`ps` listed it "dead"). So the
 * walk is repeated until lstat(2) finds nothing.
 */
export function removeTree(path: string): void {
  for (let walk = 1; ; walk++) {
    rmSync(path, { recursive: true, force: true });
    try {
      lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    if (walk === REMOVE_WALKS) throw new Error(`cannot remove ${path}: its entries kept changing (${REMOVE_WALKS} walks)`);
  }
}
