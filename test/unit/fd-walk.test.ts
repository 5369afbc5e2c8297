// The fd walk behind export, diff and commit: a tree that changes while it is read (a running
// container swapping a directory for a symlink to a host directory between two steps of the walk)
// never gets a host file into the output.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AT_FDCWD, O_DIRECTORY, O_PATH, openat2 } from "../../ffi/openat";
import { existsBeneath, walkTree } from "../../src/image/fd-walk";
import { TarParser, type TarEntry } from "../../src/image/tar";
import { tarDirectory } from "../../src/image/tar-write";

const MARKER_NAME = "HOST_MARKER_f00d";
const MARKER_TEXT = "host-secret-c0ffee";

let scratch: string;
let host: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "fd-walk-"));
  // a "host" directory a container must never get into the output
  host = join(scratch, "host");
  mkdirSync(join(host, "sub"), { recursive: true });
  writeFileSync(join(host, MARKER_NAME), MARKER_TEXT);
  writeFileSync(join(host, "sub", MARKER_NAME), MARKER_TEXT);
  writeFileSync(join(host, "inner"), MARKER_TEXT); // same name as a file in the tree
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** a/a1, d/inner, d/sub/deep, d/sub/more/x, z */
function tree(): string {
  const root = join(scratch, `tree-${++n}`);
  mkdirSync(join(root, "a"), { recursive: true });
  mkdirSync(join(root, "d", "sub", "more"), { recursive: true });
  writeFileSync(join(root, "a", "a1"), "a1");
  writeFileSync(join(root, "d", "inner"), "inner");
  writeFileSync(join(root, "d", "sub", "deep"), "deep");
  writeFileSync(join(root, "d", "sub", "more", "x"), "x");
  writeFileSync(join(root, "z"), "z");
  return root;
}

/** What a hostile container does: the directory goes, a symlink to the host takes its place. */
const swaps: Record<string, (root: string) => void> = {
  "d removed, d -> host": (root) => {
    rmSync(join(root, "d"), { recursive: true });
    symlinkSync(host, join(root, "d"));
  },
  "d moved aside, d -> host": (root) => {
    renameSync(join(root, "d"), join(root, "d.old"));
    symlinkSync(host, join(root, "d"));
  },
  "d/sub -> host": (root) => {
    rmSync(join(root, "d", "sub"), { recursive: true });
    symlinkSync(host, join(root, "d", "sub"));
  },
  "d/inner -> host file": (root) => {
    rmSync(join(root, "d", "inner"));
    symlinkSync(join(host, "inner"), join(root, "d", "inner"));
  },
};

function entries(archive: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  const p = new TarParser({ entry: (e) => void out.push(e), data: () => {}, entryEnd: () => {} });
  p.write(archive);
  p.end();
  return out;
}

describe("a directory swapped for a symlink mid-walk", () => {
  for (const [what, swap] of Object.entries(swaps)) {
    test(`tarDirectory, swap at every step: ${what}`, () => {
      // how many chunks an undisturbed walk yields
      const steps = Array.from(tarDirectory(tree())).length;
      expect(steps).toBeGreaterThan(10);
      for (let k = 0; k <= steps; k++) {
        const root = tree();
        const out: Buffer[] = [];
        let i = 0;
        if (k === 0) swap(root);
        for (const chunk of tarDirectory(root)) {
          out.push(Buffer.from(chunk));
          if (++i === k) swap(root);
        }
        const tar = Buffer.concat(out);
        expect(tar.includes(MARKER_NAME)).toBe(false);
        expect(tar.includes(MARKER_TEXT)).toBe(false);
        // whatever got in is the tree's own: a symlink stays a symlink with the host path as its target
        for (const e of entries(tar)) {
          if (e.type === "symlink") expect(e.linkname.startsWith(host)).toBe(true);
          expect(e.name.startsWith("host")).toBe(false);
        }
      }
    });
  }

  test("walkTree paused on a directory keeps reading that directory, not the symlink's target", () => {
    const root = tree();
    const seen: string[] = [];
    for (const e of walkTree(root)) {
      seen.push(`${e.path} ${e.type}`);
      if (e.path === "d") swaps["d removed, d -> host"]!(root); // between yielding d and listing it
    }
    // d was removed: its fd lists nothing, and nothing of the host's appears under its name
    expect(seen).toEqual(["a dir", "a/a1 file", "d dir", "z file"]);
    expect(readdirSync(join(root, "d"))).toContain(MARKER_NAME); // the swap did happen
  });

  test("an entry removed after it was opened: a symlink keeps its target, a file its content", () => {
    const root = tree();
    symlinkSync(host, join(root, "link"));
    const got: string[] = [];
    for (const e of walkTree(root)) {
      if (e.path === "link" || e.path === "z") {
        rmSync(join(root, e.path));
        if (e.path === "z") symlinkSync("/", join(root, e.path)); // something else under the name
        const what = e.type === "symlink" ? e.linkTarget() : Buffer.concat(Array.from(e.content(Buffer.alloc(16)), (c) => Buffer.from(c))).toString();
        got.push(`${e.path} ${e.type} ${what} ${e.xattrs().length}`);
      }
    }
    expect(got).toEqual([`link symlink ${host} 0`, "z file z 0"]);
  });

  test("a symlink to / is an entry of its own; nothing is read through it", () => {
    const root = tree();
    symlinkSync("/", join(root, "evil"));
    const tar = Buffer.concat(Array.from(tarDirectory(root), (c) => Buffer.from(c)));
    const evil = entries(tar).filter((e) => e.name.startsWith("evil"));
    expect(evil.map((e) => [e.name, e.type, e.linkname])).toEqual([["evil", "symlink", "/"]]);
  });
});

describe("existsBeneath", () => {
  test("finds names without crossing symlinks or leaving the root", () => {
    const root = tree();
    symlinkSync(host, join(root, "link"));
    symlinkSync("/etc", join(root, "etc"));
    const fd = openat2(AT_FDCWD, root, O_PATH | O_DIRECTORY, 0);
    try {
      expect(existsBeneath(fd, "d/sub/deep")).toBe(true);
      expect(existsBeneath(fd, "link")).toBe(true); // the symlink itself
      expect(existsBeneath(fd, `link/${MARKER_NAME}`)).toBe(false); // not through it
      expect(existsBeneath(fd, "etc/passwd")).toBe(false);
      expect(existsBeneath(fd, "../host")).toBe(false);
      expect(existsBeneath(fd, "/etc")).toBe(false);
      expect(existsBeneath(fd, "missing")).toBe(false);
      expect(existsBeneath(fd, "z/below-a-file")).toBe(false);
    } finally {
      closeSync(fd);
    }
  });
});
