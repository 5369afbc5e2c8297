// Extraction never follows a symlink the archive made: a later entry that replaces a directory
// (or one of its parents) with a symlink to a host directory must not get the earlier directory's
// mtime, mode or owner applied to the host directory (directory times are set at the end).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Extractor } from "../../src/image/extract";
import { TarParser } from "../../src/image/tar";
import { makeTar, type RawEntry } from "../image/fixtures";

const HOST_MTIME = 1234567890; // makeTar writes 1700000000 for every entry

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "extract-symlink-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** A "host" directory (0755, root-owned, a known mtime) with a subdirectory b, and an empty target. */
function setup(): { host: string; target: string } {
  const base = join(scratch, `case-${++n}`);
  const host = join(base, "host");
  mkdirSync(join(host, "b"), { recursive: true, mode: 0o755 });
  utimesSync(join(host, "b"), HOST_MTIME, HOST_MTIME);
  utimesSync(host, HOST_MTIME, HOST_MTIME);
  const target = join(base, "target");
  mkdirSync(target);
  return { host, target };
}

function extract(target: string, entries: RawEntry[], whiteouts = false): void {
  const ex = new Extractor(target, { whiteouts });
  const p = new TarParser(ex);
  try {
    p.write(makeTar(entries));
    p.end();
    ex.finish();
  } finally {
    ex.abort();
  }
}

const unchanged = (dir: string) => {
  const st = statSync(dir);
  return { mtime: Math.floor(st.mtimeMs / 1000), mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}` };
};
const HOST = { mtime: HOST_MTIME, mode: "755", owner: "0:0" };

describe("a directory replaced by a symlink to a host directory", () => {
  test("the directory itself: its mtime is not set on the host directory", () => {
    const { host, target } = setup();
    extract(target, [
      { name: "d/", type: "5", mode: 0o700, uid: 1234, gid: 1234 },
      { name: "d", type: "2", linkname: host },
    ]);
    expect(readlinkSync(join(target, "d"))).toBe(host); // the archive's last word
    expect(unchanged(host)).toEqual(HOST);
  });

  test("a parent of the directory: the host's same-named subdirectory keeps its mtime", () => {
    const { host, target } = setup();
    extract(target, [
      { name: "a/", type: "5", mode: 0o711 },
      { name: "a/b/", type: "5", mode: 0o700, uid: 1234, gid: 1234 },
      { name: "a", type: "2", linkname: host },
    ]);
    expect(lstatSync(join(target, "a")).isSymbolicLink()).toBe(true);
    expect(unchanged(host)).toEqual(HOST);
    expect(unchanged(join(host, "b"))).toEqual(HOST);
  });

  test("a relative symlink that climbs out of the target", () => {
    const { host, target } = setup();
    extract(target, [
      { name: "d/", type: "5", mode: 0o700 },
      { name: "d", type: "2", linkname: "../host" },
    ]);
    expect(unchanged(host)).toEqual(HOST);
  });

  test("a directory re-created after its removal gets the later entry's time, not the earlier one's", () => {
    const { target } = setup();
    extract(target, [
      { name: "d/", type: "5", mode: 0o700 },
      { name: ".wh.d", type: "0" },
      { name: "d/", type: "5", mode: 0o750 },
    ], true);
    expect(unchanged(join(target, "d"))).toEqual({ mtime: 1700000000, mode: "750", owner: "0:0" });
  });

  test("the directories the archive keeps still get their times, modes and owners", () => {
    const { target } = setup();
    extract(target, [
      { name: "./", type: "5", mode: 0o755 },
      { name: "keep/", type: "5", mode: 0o750, uid: 7, gid: 8 },
      { name: "keep/f", data: "x" },
      { name: "keep/sub/", type: "5", mode: 0o700 },
    ]);
    expect(unchanged(target)).toEqual({ mtime: 1700000000, mode: "755", owner: "0:0" });
    expect(unchanged(join(target, "keep"))).toEqual({ mtime: 1700000000, mode: "750", owner: "7:8" });
    expect(unchanged(join(target, "keep/sub"))).toEqual({ mtime: 1700000000, mode: "700", owner: "0:0" });
  });
});
