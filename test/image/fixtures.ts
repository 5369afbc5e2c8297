// Test helpers for the image store: a tiny independent tar writer (for archives GNU tar will not
// make, such as "../x"), GNU tar wrappers, and tree listings to compare extractions.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { llistxattr, lgetxattr, lsetxattr } from "../../ffi/fs";
import { tarDirectory } from "../../src/image/tar-write";

/** GNU tar is on every Debian machine, but not in the busybox userland of `make test-vm`. */
export const GNU_TAR = (() => {
  try {
    return Bun.spawnSync(["tar", "--version"]).stdout.toString().includes("GNU tar");
  } catch {
    return false;
  }
})();

/** Whether the temp filesystem takes user.* xattrs (tmpfs only since Linux 6.6). */
export const USER_XATTRS = (() => {
  const dir = mkdtempSync(join(tmpdir(), "mydocker-xattr-"));
  try {
    writeFileSync(join(dir, "f"), "");
    lsetxattr(join(dir, "f"), "user.probe", Buffer.from("1"));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

export interface RawEntry {
  name: string;
  /** tar typeflag: "0" file, "1" hard link, "2" symlink, "3" char, "5" dir, "6" fifo */
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  data?: string | Uint8Array;
  linkname?: string;
  major?: number;
  minor?: number;
}

/** A ustar archive, written without any of the code under test. */
export function makeTar(entries: RawEntry[], { end = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const h = Buffer.alloc(512);
    const oct = (off: number, len: number, v: number) => h.write(v.toString(8).padStart(len - 1, "0") + "\0", off, len, "latin1");
    h.write(e.name, 0, 100);
    oct(100, 8, e.mode ?? 0o644);
    oct(108, 8, e.uid ?? 0);
    oct(116, 8, e.gid ?? 0);
    oct(124, 12, data.length);
    oct(136, 12, 1700000000);
    h.fill(0x20, 148, 156);
    h.write(e.type ?? "0", 156, 1, "latin1");
    h.write(e.linkname ?? "", 157, 100);
    h.write("ustar\u000000", 257, 8, "latin1");
    oct(329, 8, e.major ?? 0);
    oct(337, 8, e.minor ?? 0);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** GNU tar -c of DIR's contents (numeric owners, xattrs) in `format` (gnu, posix, ustar). */
export function gnuTar(dir: string, out: string, format = "posix", extra: string[] = []): void {
  const xattrs = format === "posix" ? ["--xattrs", "--xattrs-include=*"] : []; // only pax can hold them
  const r = Bun.spawnSync(["tar", "--numeric-owner", ...xattrs, `--format=${format}`, ...extra, "-cf", out, "-C", dir, "."]);
  if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
}

/** A tar of DIR's contents: GNU tar's when there is one, else our own writer's. */
export function tarOf(dir: string, out: string): void {
  if (GNU_TAR) return gnuTar(dir, out);
  const parts: Buffer[] = [];
  for (const c of tarDirectory(dir)) parts.push(Buffer.from(c));
  writeFileSync(out, Buffer.concat(parts));
}

/** Every node under DIR: path, type, mode, owner, size or target or device, mtime (s), xattrs, and a hard-link group. */
export function listing(dir: string, { mtime = true, xattrs: withXattrs = true } = {}): string[] {
  const out: string[] = [];
  const inodes = new Map<number, string>();
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(p);
      const type = st.isFile() ? "f" : st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : st.isFIFO() ? "p" : "s";
      const what = type === "l" ? `-> ${readlinkSync(p)}` : type === "c" || type === "b" ? `dev ${st.rdev}` : type === "f" ? `${st.size}` : "";
      const xattrs = (withXattrs ? llistxattr(p) : [])
        .sort()
        .map((k) => `${k}=${lgetxattr(p, k)?.toString("hex")}`)
        .join(",");
      let link = "";
      if (type === "f" && st.nlink > 1) {
        link = `hardlink:${inodes.get(st.ino) ?? r}`;
        if (!inodes.has(st.ino)) inodes.set(st.ino, r);
      }
      const time = mtime && type !== "l" ? ` t=${Math.floor(st.mtimeMs / 1000)}` : "";
      out.push(`${r} ${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}${time} ${xattrs} ${link}`.trimEnd());
      if (type === "d") walk(p, r);
    }
  };
  walk(dir, "");
  return out;
}

export const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

/** Mount points of this mount namespace. */
export function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").trim().split("\n").map((l) => l.split(" ")[4]!).sort();
}

// ---------------------------------------------------------------- the compiled binary

export const PROJECT = join(import.meta.dir, "../..");
export const BINARY = process.env.MYDOCKER_BIN ?? join(PROJECT, "mydocker");

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs ./mydocker with `env` (data root, runtime root) and optional stdin bytes. */
export async function runMydocker(args: string[], env: Record<string, string>, stdin?: Uint8Array): Promise<Ran> {
  const proc = Bun.spawn([BINARY, ...args], {
    stdin: stdin === undefined ? "ignore" : stdin,
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    timeout: 120_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
