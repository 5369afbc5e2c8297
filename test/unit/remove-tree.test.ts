// removeTree (src/fsutil.ts): a tree whose entries change while it is removed — as a container's
// record does when its monitor, ending beside `rm`, unlinks its socket and makes its lock file —
// is gone all the same when the call returns. In this test Bun 1.4.5's rmSync({ recursive, force })
// returned early, silently, in up to one round in six (48 of 300), leaving part of the tree.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "../../src/fsutil";

let scratch: string;
let victim: string;
let churner: ReturnType<typeof Bun.spawn>;

// Another process makes an entry in the victim directory and unlinks it at once, every ~50 µs,
// and counts the entries it made (so that the test knows the race was really run). The entry
// lives a few µs: a walk often lists it and then finds it gone, an rmdir(2) rarely meets it.
const CHURN = `
const { closeSync, openSync, unlinkSync, writeFileSync } = require("node:fs");
const [dir, count] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
let made = 0;
for (let i = 0; ; i++) {
  try { closeSync(openSync(dir + "/zz", "w")); made++; unlinkSync(dir + "/zz"); } catch {}
  if (i % 1000 === 0) writeFileSync(count, String(made));
  Atomics.wait(pause, 0, 0, 0.05);
}`;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "remove-tree-"));
  victim = join(scratch, "victim");
  const script = join(scratch, "churn.js");
  writeFileSync(script, CHURN);
  churner = Bun.spawn([process.execPath, script, victim, join(scratch, "made")], { stdio: ["ignore", "ignore", "inherit"] });
});

afterAll(async () => {
  churner.kill();
  await churner.exited;
  rmSync(scratch, { recursive: true, force: true });
});

test("a tree whose entries come and go while it is removed is gone when removeTree returns", async () => {
  let left = 0;
  for (let round = 0; round < 300; round++) {
    mkdirSync(victim);
    for (let i = 0; i < 30; i++) writeFileSync(join(victim, `f${i}`), "x");
    await Bun.sleep(1); // the churner finds the directory
    removeTree(victim);
    if (existsSync(victim)) left++;
    rmSync(victim, { recursive: true, force: true }); // (for the next round, if one was left)
  }
  expect(left).toBe(0);
  const made = Number(await Bun.file(join(scratch, "made")).text().catch(() => "0"));
  expect(made).toBeGreaterThan(300); // the churner did run inside the victim, round after round
});

test("a missing path is fine; a tree that cannot be removed throws, naming it, and is kept", () => {
  expect(() => removeTree(join(scratch, "never-made"))).not.toThrow();
  // (a read-only bind mount: unlink(2) fails with EROFS, which is no vanished entry)
  const parent = join(scratch, "ro");
  mkdirSync(join(parent, "child"), { recursive: true });
  writeFileSync(join(parent, "child", "f"), "x");
  expect(Bun.spawnSync(["mount", "-o", "bind", parent, parent]).exitCode).toBe(0);
  try {
    expect(Bun.spawnSync(["mount", "-o", "remount,bind,ro", parent]).exitCode).toBe(0);
    expect(() => removeTree(join(parent, "child"))).toThrow(join(parent, "child"));
    expect(existsSync(join(parent, "child", "f"))).toBe(true);
  } finally {
    Bun.spawnSync(["umount", parent]);
  }
});
