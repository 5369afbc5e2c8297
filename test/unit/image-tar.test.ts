// The tar reader and the confined extractor, on archives built here: by GNU tar (gnu and posix
// formats: long names, pax headers, base-256 numbers, xattrs) from a tree with every kind of node,
// and by a tiny independent writer for the hostile cases GNU tar will not produce.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync,
  utimesSync, writeFileSync, lchownSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lgetxattr, lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../../ffi/fs";
import { Extractor, type ExtractOptions } from "../../src/image/extract";
import { TarParser, TarFormatError, type TarEntry } from "../../src/image/tar";
import { tarDirectory, tarHeader } from "../../src/image/tar-write";
import { GNU_TAR, USER_XATTRS, gnuTar, listing, makeTar, sha256 } from "../image/fixtures";

let scratch: string;
let src: string;
let n = 0;
const fresh = () => {
  const dir = join(scratch, `case-${++n}`);
  mkdirSync(dir);
  return dir;
};

/** Feeds `archive` to a new Extractor in `chunk`-sized pieces; returns the target. */
function extract(archive: Uint8Array, opts: ExtractOptions = {}, chunk = 1 << 20, parent = fresh()): string {
  const target = join(parent, "target");
  mkdirSync(target);
  const ex = new Extractor(target, opts);
  const p = new TarParser(ex);
  try {
    for (let i = 0; i < archive.length; i += chunk) p.write(archive.subarray(i, i + chunk));
    p.end();
    ex.finish();
  } finally {
    ex.abort();
  }
  return target;
}

/** The entries of an archive, as the reader sees them. */
function entries(archive: Uint8Array): (TarEntry & { content: string })[] {
  const out: (TarEntry & { content: string })[] = [];
  let cur: Buffer[] = [];
  const p = new TarParser({
    entry: (e) => {
      cur = [];
      out.push({ ...e, content: "" });
    },
    data: (c) => cur.push(Buffer.from(c)),
    entryEnd: () => (out[out.length - 1]!.content = Buffer.concat(cur).toString()),
  });
  p.write(archive);
  p.end();
  return out;
}

const LONG_DIR = `long/${"d".repeat(60)}/${"e".repeat(60)}`;
const LONG_FILE = `${"f".repeat(150)}.txt`;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-tar-"));
  src = join(scratch, "src");
  mkdirSync(src);
  const w = (p: string, data: string | Buffer, mode = 0o644) => {
    writeFileSync(join(src, p), data);
    chmodSync(join(src, p), mode);
  };
  w("file.txt", "hello\n", 0o640);
  chownSync(join(src, "file.txt"), 1234, 5678);
  w("setuid", "#!/bin/sh\n", 0o4755);
  w("setgid", "x", 0o2711);
  mkdirSync(join(src, "sticky"));
  chmodSync(join(src, "sticky"), 0o1777);
  mkdirSync(join(src, "setgid-dir"));
  chmodSync(join(src, "setgid-dir"), 0o2775);
  symlinkSync("/etc/passwd", join(src, "abs-link"));
  symlinkSync("file.txt", join(src, "rel-link"));
  symlinkSync("no/such/target", join(src, "dangling"));
  lchownSync(join(src, "rel-link"), 42, 43);
  linkSync(join(src, "file.txt"), join(src, "hard"));
  mknod(join(src, "fifo"), S_IFIFO | 0o620);
  mknod(join(src, "null"), S_IFCHR | 0o666, 1, 3);
  mknod(join(src, "loop9"), S_IFBLK | 0o660, 7, 9);
  mknod(join(src, "bigdev"), S_IFCHR | 0o600, 300, 70000); // numbers beyond the old 8-bit encoding
  w("xattr-file", "x");
  // user.* where the temp filesystem takes them (tmpfs before Linux 6.6 does not); trusted.* always
  const ns = USER_XATTRS ? "user" : "trusted";
  lsetxattr(join(src, "xattr-file"), `${ns}.comment`, Buffer.from("hi there"));
  lsetxattr(join(src, "xattr-file"), `${ns}.binary`, Buffer.from([0, 0xff, 0x10, 0x0a, 0x3d]));
  lsetxattr(join(src, "xattr-file"), "trusted.test", Buffer.from("t"));
  mkdirSync(join(src, LONG_DIR), { recursive: true });
  w(`${LONG_DIR}/${LONG_FILE}`, "long\n");
  symlinkSync(`../${"t".repeat(120)}`, join(src, "long-target-link"));
  linkSync(join(src, LONG_DIR, LONG_FILE), join(src, `${LONG_DIR}/${LONG_FILE}.hard`));
  w("big-owner", "b");
  chownSync(join(src, "big-owner"), 3_000_000, 4_000_000);
  w("héllo wörld ✓", "unicode\n");
  mkdirSync(join(src, "empty-dir"));
  chmodSync(join(src, "empty-dir"), 0o700);
  w("big.bin", Buffer.from(crypto.getRandomValues(new Uint8Array(65536))).toString("base64").repeat(48)); // ~4 MB
  utimesSync(join(src, "file.txt"), 1000000000, 1000000000);
  utimesSync(join(src, "sticky"), 1100000000, 1100000000);
  utimesSync(join(src, LONG_DIR), 1200000000, 1200000000);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("GNU tar archives extract to the same tree", () => {
  for (const format of ["gnu", "posix"]) {
    for (const chunk of [1 << 20, 777, 512]) {
      test.skipIf(!GNU_TAR)(`--format=${format}, fed in ${chunk}-byte pieces`, () => {
        const tar = join(scratch, `src-${format}.tar`);
        // --sort=name: readdir order is the filesystem's (tmpfs lists the newest first, so the
        // `.hard` link would carry the content): the same archive on any /tmp
        if (!existsSync(tar)) gnuTar(src, tar, format, ["--sort=name"]);
        const target = extract(readFileSync(tar), {}, chunk);
        const xattrs = format === "posix"; // GNU's own format cannot hold xattrs
        const want = listing(src, { xattrs });
        expect(listing(target, { xattrs })).toEqual(want);
        // spot checks of what the listing encodes
        expect(want.find((l) => l.startsWith("setuid "))).toContain(" 4755 ");
        expect(want.find((l) => l.startsWith("sticky "))).toContain(" 1777 ");
        expect(want.find((l) => l.startsWith("bigdev "))).toContain(" c ");
        expect(want.find((l) => l.startsWith("hard "))).toContain("hardlink:file.txt");
        expect(lstatSync(join(target, "null")).rdev).toBe(lstatSync("/dev/null").rdev);
        if (xattrs) expect(lgetxattr(join(target, "xattr-file"), `${USER_XATTRS ? "user" : "trusted"}.binary`)).toEqual(Buffer.from([0, 0xff, 0x10, 0x0a, 0x3d]));
        expect(lstatSync(join(target, "big-owner")).uid).toBe(3_000_000);
        expect(lstatSync(join(target, "hard")).ino).toBe(lstatSync(join(target, "file.txt")).ino);
      });
    }
  }

  test.skipIf(!GNU_TAR)("the reader sees long names, pax values and base-256 numbers", () => {
    const archives = ["gnu", "posix"].map((f) => {
      const tar = join(scratch, `src-${f}.tar`);
      if (!existsSync(tar)) gnuTar(src, tar, f, ["--sort=name"]); // as above: LONG_FILE before its .hard link
      return readFileSync(tar);
    });
    for (const e of archives.map(entries)) {
      const long = e.find((x) => x.name.endsWith(LONG_FILE));
      expect(long?.name).toBe(`./${LONG_DIR}/${LONG_FILE}`);
      expect(long?.content).toBe("long\n");
      expect(e.find((x) => x.name === "./long-target-link")?.linkname).toBe(`../${"t".repeat(120)}`);
      expect(e.find((x) => x.name === "./big-owner")).toMatchObject({ uid: 3_000_000, gid: 4_000_000 });
      expect(e.find((x) => x.name === "./bigdev")).toMatchObject({ type: "char", devmajor: 300, devminor: 70000 });
      expect(e.find((x) => x.name === "./file.txt")).toMatchObject({ mode: 0o640, uid: 1234, gid: 5678, mtime: 1000000000 });
    }
  });

  test("our own writer's stream (tarDirectory) reads back with GNU tar and with ours", () => {
    const chunks = Array.from(tarDirectory(src), (c) => Buffer.from(c));
    const tar = Buffer.concat(chunks);
    const viaOurs = extract(tar);
    expect(listing(viaOurs)).toEqual(listing(src));
    // deterministic: the same tree gives the same bytes
    expect(sha256(Buffer.concat(Array.from(tarDirectory(src), (c) => Buffer.from(c))))).toBe(sha256(tar));
    if (!GNU_TAR) return;
    const viaGnu = join(fresh(), "gnu");
    mkdirSync(viaGnu);
    writeFileSync(join(scratch, "ours.tar"), tar);
    const r = Bun.spawnSync(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", join(scratch, "ours.tar"), "-C", viaGnu]);
    expect(r.stderr.toString()).toBe("");
    expect(listing(viaGnu)).toEqual(listing(src));
  });
});

describe("entries that would escape the target are refused, nothing is written outside", () => {
  const cases: [string, (outside: string) => Buffer, RegExp][] = [
    ["../x", () => makeTar([{ name: "../x", data: "pwned" }]), /refusing archive entry "\.\.\/x": ".." would escape/],
    ["a/../../x", () => makeTar([{ name: "a/", type: "5", mode: 0o755 }, { name: "a/../../x", data: "pwned" }]), /refusing archive entry "a\/\.\.\/\.\.\/x"/],
    ["/etc/x (absolute)", () => makeTar([{ name: "/etc/x", data: "pwned" }]), /refusing archive entry "\/etc\/x": absolute path/],
    ["an absolute path outside", (o) => makeTar([{ name: `${o}/x`, data: "pwned" }]), /absolute path/],
    [
      "link -> /etc, then link/…",
      () => makeTar([{ name: "link", type: "2", linkname: "/etc" }, { name: "link/mydocker-escape-test", data: "pwned" }]),
      /refusing archive entry "link\/mydocker-escape-test": its parent "link" is a symlink/,
    ],
    ["link -> .., then link/x", () => makeTar([{ name: "up", type: "2", linkname: ".." }, { name: "up/x", data: "pwned" }]), /its parent "up" is a symlink/],
    ["link -> an outside dir, then link/x", (o) => makeTar([{ name: "out", type: "2", linkname: o }, { name: "out/x", data: "pwned" }]), /its parent "out" is a symlink/],
    [
      "a symlink two levels down",
      (o) => makeTar([{ name: "d/", type: "5", mode: 0o755 }, { name: "d/l", type: "2", linkname: o }, { name: "d/l/x/y", data: "pwned" }]),
      /its parent "d\/l" is a symlink/,
    ],
    [
      "a directory entry through a symlink",
      (o) => makeTar([{ name: "l", type: "2", linkname: o }, { name: "l/sub/", type: "5", mode: 0o755 }]),
      /its parent "l" is a symlink/,
    ],
    ["hard link to ../../etc/passwd", () => makeTar([{ name: "h", type: "1", linkname: "../../etc/passwd" }]), /refusing hard link "h" to "\.\.\/\.\.\/etc\/passwd"/],
    ["hard link to /etc/passwd", () => makeTar([{ name: "h", type: "1", linkname: "/etc/passwd" }]), /refusing hard link "h" to "\/etc\/passwd": absolute path/],
    [
      "hard link through a symlink",
      () => makeTar([{ name: "l", type: "2", linkname: "/etc" }, { name: "h", type: "1", linkname: "l/passwd" }]),
      /refusing hard link "h" to "l\/passwd": "l" is a symlink/,
    ],
    ["hard link to nothing", () => makeTar([{ name: "h", type: "1", linkname: "nope" }]), /its target does not exist/],
  ];
  for (const [what, make, err] of cases) {
    test(what, () => {
      const parent = fresh();
      const outside = join(parent, "outside");
      mkdirSync(outside);
      expect(() => extract(make(outside), {}, 1 << 20, parent)).toThrow(err);
      expect(readdirSync(parent).sort()).toEqual(["outside", "target"]);
      expect(readdirSync(outside)).toEqual([]);
      expect(existsSync("/etc/x")).toBe(false);
      expect(existsSync("/etc/mydocker-escape-test")).toBe(false);
    });
  }

  test("the error is one line", () => {
    try {
      extract(makeTar([{ name: "../x" }]));
    } catch (e) {
      expect((e as Error).message).not.toContain("\n");
    }
  });

  test("devices can be refused or skipped", () => {
    const tar = makeTar([{ name: "null", type: "3", mode: 0o666, major: 1, minor: 3 }, { name: "f", data: "x" }]);
    expect(() => extract(tar, { devices: "refuse" })).toThrow(/refusing archive entry "null": device nodes are not allowed/);
    const t = extract(tar, { devices: "skip" });
    expect(readdirSync(t)).toEqual(["f"]);
  });
});

describe("truncated and corrupt archives give one clear line", () => {
  let tar: Buffer;
  beforeAll(() => {
    // GNU tar's posix format when available (pax headers first), else our writer's
    const file = join(scratch, "src-posix.tar");
    if (!existsSync(file) && GNU_TAR) gnuTar(src, file, "posix");
    tar = existsSync(file) ? readFileSync(file) : Buffer.concat(Array.from(tarDirectory(src), (c) => Buffer.from(c)));
  });
  const expectError = (archive: Uint8Array, re: RegExp) => {
    let err: Error | undefined;
    try {
      extract(archive);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(TarFormatError);
    expect(err!.message).toMatch(re);
    expect(err!.message).not.toContain("\n");
  };
  test("cut inside a header", () => expectError(tar.subarray(0, 700), /truncated archive: unexpected end of data inside (a header|an extended header|")/));
  test("cut inside a file's content", () => {
    const big = tar.indexOf(Buffer.from("big.bin"));
    expectError(tar.subarray(0, big + 512 * 8 + 100), /truncated archive: unexpected end of data inside "(\.\/)?big\.bin"/);
  });
  test("cut before the end-of-archive marker", () => {
    // the last entry's end: strip the two zero blocks and the record padding
    let end = tar.length;
    while (end > 0 && tar.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
    expectError(tar.subarray(0, end), /truncated archive: unexpected end of data \(no end-of-archive marker\)/);
  });
  test("a damaged header", () => {
    const bad = Buffer.from(tar);
    bad[512 * 3 + 10] = bad[512 * 3 + 10]! ^ 0x55;
    expectError(bad, /corrupt archive: bad header checksum at byte|truncated|corrupt/);
  });
  test("not a tar at all", () => expectError(Buffer.from("hello world, this is not a tar archive".repeat(20)), /^not a tar archive$/));
  test("empty input", () => expectError(new Uint8Array(0), /^empty archive$/));
  test("a bad octal field", () => {
    const t = makeTar([{ name: "f", data: "x" }]);
    t.write("9", 124, 1, "latin1"); // size "9..." is not octal
    let sum = 0;
    t.fill(0x20, 148, 156);
    for (let i = 0; i < 512; i++) sum += t[i]!;
    t.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
    expectError(t, /corrupt archive: bad size field/);
  });
});

describe("whiteouts become overlayfs whiteouts in layers", () => {
  test(".wh.NAME -> 0:0 char device, .wh..wh..opq -> trusted.overlay.opaque=y", () => {
    const tar = makeTar([
      { name: "a/", type: "5", mode: 0o755 },
      { name: "a/.wh.gone", mode: 0o600 },
      { name: ".wh.top", mode: 0o600 },
      { name: "o/", type: "5", mode: 0o755 },
      { name: "o/.wh..wh..opq", mode: 0o600 },
      { name: "o/keep", data: "k" },
      { name: ".wh..wh.plnk/", type: "5", mode: 0o700 },
    ]);
    const t = extract(tar, { whiteouts: true });
    for (const w of ["a/gone", "top"]) {
      const st = lstatSync(join(t, w));
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe(0);
    }
    expect(lgetxattr(join(t, "o"), "trusted.overlay.opaque")?.toString()).toBe("y");
    expect(readdirSync(join(t, "o"))).toEqual(["keep"]);
    expect(readdirSync(t).sort()).toEqual(["a", "o", "top"]);
    // and back: tarDirectory(whiteouts) writes them the portable way, without overlay xattrs
    const back = entries(Buffer.concat(Array.from(tarDirectory(t, { whiteouts: true }), (c) => Buffer.from(c))));
    expect(back.map((e) => e.name).sort()).toEqual(["a/", "a/.wh.gone", "o/", "o/.wh..wh..opq", "o/keep", ".wh.top"].sort());
    expect(back.every((e) => ![...e.xattrs.keys()].some((k) => k.startsWith("trusted.overlay.")))).toBe(true);
  });

  test("without whiteouts conversion, .wh. files are plain files", () => {
    const t = extract(makeTar([{ name: ".wh.x" }]));
    expect(lstatSync(join(t, ".wh.x")).isFile()).toBe(true);
  });

  test("trusted.overlay.* xattrs from an archive are dropped", () => {
    const hdr = tarHeader({ name: "d", type: "dir", mode: 0o755, xattrs: [["trusted.overlay.redirect", Buffer.from("/etc")], ["trusted.ok", Buffer.from("1")]] });
    const t = extract(Buffer.concat([hdr, Buffer.alloc(1024)]), { whiteouts: true });
    expect(lgetxattr(join(t, "d"), "trusted.overlay.redirect")).toBeUndefined();
    expect(lgetxattr(join(t, "d"), "trusted.ok")?.toString()).toBe("1");
  });
});

describe("later entries replace earlier ones", () => {
  test("a file twice, a dir replaced by a file, a symlink replaced by a dir", () => {
    const t = extract(
      makeTar([
        { name: "f", data: "one" },
        { name: "f", data: "two" },
        { name: "d/", type: "5", mode: 0o755 },
        { name: "d/inner", data: "x" },
        { name: "d", data: "now a file" },
        { name: "s", type: "2", linkname: "/etc" },
        { name: "s/", type: "5", mode: 0o700 },
        { name: "s/x", data: "inside" },
      ]),
    );
    expect(readFileSync(join(t, "f"), "utf8")).toBe("two");
    expect(readFileSync(join(t, "d"), "utf8")).toBe("now a file");
    expect(lstatSync(join(t, "s")).isDirectory()).toBe(true);
    expect(readFileSync(join(t, "s/x"), "utf8")).toBe("inside");
    expect(existsSync("/etc/x")).toBe(false);
  });
});
