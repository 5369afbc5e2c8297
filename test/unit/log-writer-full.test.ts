// A container's log on a full disk (a 16 KiB tmpfs, mounted for the test): the output that does not
// fit is lost, and nothing else — both streams are still read to their end (a reader that stopped
// would make the container's writes fail), and the copy does not throw (in the shared monitor, a
// log closed under the other stream's copy would leave it writing into another container's file).
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogWriter } from "../../src/containers/logs";

/** A stream of `lines` lines of ~1 KiB each; `pulled()` counts the ones a reader took. */
function lineStream(tag: string, lines: number) {
  let n = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (n === lines) return c.close();
      c.enqueue(new TextEncoder().encode(`${tag}-${n++} ${"x".repeat(1000)}\n`));
    },
  });
  return { stream, pulled: () => n };
}

test("a log on a full disk: both streams are read to their end, pump resolves, the log holds what fitted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mydocker-test-fulllog-"));
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", dir]).exitCode).toBe(0);
  let writer: LogWriter | undefined;
  try {
    const path = join(dir, "container.log");
    writer = new LogWriter(path);
    const out = lineStream("out", 200);
    const err = lineStream("err", 200);
    await writer.pump(out.stream, err.stream); // would reject at the first ENOSPC
    writer.close();
    expect([out.pulled(), err.pulled()]).toEqual([200, 200]);
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(16 * 1024);
  } finally {
    try {
      writer?.close(); // (once more after a failure: its fd would keep the tmpfs busy)
    } catch {}
    if (Bun.spawnSync(["umount", dir]).exitCode !== 0) Bun.spawnSync(["umount", "-l", dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
