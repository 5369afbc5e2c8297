// Random access to the members of an image archive: an uncompressed tar file (indexed by walking
// its headers, skipping content) or a directory (an OCI image layout as `skopeo copy ... oci:DIR`
// writes it). Symlinked and hard-linked members (docker save links repeated layers) resolve to
// their target. Names never leave the archive.
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";
import { posix } from "node:path";
import { parseHeader, parsePax, TarFormatError } from "./tar";
import { fdChunks, type Chunks } from "./source";

export interface Archive {
  /** the member's size, or undefined when there is no such regular member */
  size(name: string): number | undefined;
  /** a small member (JSON) in full; undefined when absent */
  read(name: string, limit?: number): Buffer | undefined;
  /** a member's content as chunks */
  stream(name: string): Chunks;
  close(): void;
}

interface Member {
  type: string;
  offset: number;
  size: number;
  linkname: string;
}

const clean = (name: string) => posix.normalize(`/${name}`).slice(1).replace(/\/$/, "");

export class TarArchive implements Archive {
  private readonly fd: number;
  private readonly members = new Map<string, Member>();

  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
    try {
      this.index();
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  private index(): void {
    const total = fstatSync(this.fd).size;
    const block = Buffer.alloc(512);
    let off = 0;
    let pax = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const n = readSync(this.fd, block, 0, 512, off);
      if (n === 0 && off === 0) throw new TarFormatError("empty archive");
      if (n < 512) throw new TarFormatError(off === 0 ? "not a tar archive (too short)" : "truncated archive: unexpected end of data (no end-of-archive marker)");
      const h = parseHeader(block, off);
      if (!h) return;
      let size = h.size;
      if (pax.has("size")) size = Number(pax.get("size")!.toString());
      const content = off + 512;
      const next = content + Math.ceil(size / 512) * 512;
      if (content + size > total) throw new TarFormatError(`truncated archive: unexpected end of data inside "${h.name}"`);
      if (h.typeflag === "x" || h.typeflag === "g" || h.typeflag === "L" || h.typeflag === "K") {
        const buf = Buffer.alloc(size);
        readSync(this.fd, buf, 0, size, content);
        if (h.typeflag === "x") pax = parsePax(buf, off);
        else if (h.typeflag === "L") longName = buf.toString("utf8").replace(/\0.*$/s, "");
        else if (h.typeflag === "K") longLink = buf.toString("utf8").replace(/\0.*$/s, "");
      } else {
        const name = clean(longName ?? pax.get("path")?.toString("utf8") ?? h.name);
        const linkname = longLink ?? pax.get("linkpath")?.toString("utf8") ?? h.linkname;
        this.members.set(name, { type: h.typeflag, offset: content, size, linkname });
        pax = new Map();
        longName = longLink = undefined;
      }
      off = next;
    }
  }

  private member(name: string, depth = 0): Member | undefined {
    const m = this.members.get(clean(name));
    if (!m || depth > 16) return undefined;
    if (m.type === "2") return this.member(posix.join(posix.dirname(clean(name)), m.linkname), depth + 1);
    if (m.type === "1") return this.member(m.linkname, depth + 1);
    return m.type === "0" || m.type === "\0" || m.type === "7" ? m : undefined;
  }

  size(name: string): number | undefined {
    return this.member(name)?.size;
  }

  read(name: string, limit = 64 << 20): Buffer | undefined {
    const m = this.member(name);
    if (!m) return undefined;
    if (m.size > limit) throw new Error(`${name} is too large (${m.size} bytes)`);
    const buf = Buffer.alloc(m.size);
    readSync(this.fd, buf, 0, m.size, m.offset);
    return buf;
  }

  stream(name: string): Chunks {
    const m = this.member(name);
    if (!m) throw new Error(`${name} is missing from the archive`);
    return fdChunks(this.fd, m.offset, m.size);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** An OCI image layout directory. Members must resolve inside it. */
export class DirArchive implements Archive {
  private readonly root: string;
  private readonly fds: number[] = [];

  constructor(dir: string) {
    this.root = realpathSync(dir);
  }

  private resolve(name: string): string | undefined {
    let p: string;
    try {
      p = realpathSync(posix.join(this.root, clean(name)));
    } catch {
      return undefined;
    }
    if (!p.startsWith(`${this.root}/`)) return undefined;
    return lstatSync(p).isFile() ? p : undefined;
  }

  size(name: string): number | undefined {
    const p = this.resolve(name);
    return p ? lstatSync(p).size : undefined;
  }

  read(name: string, limit = 64 << 20): Buffer | undefined {
    const p = this.resolve(name);
    if (!p) return undefined;
    const size = lstatSync(p).size;
    if (size > limit) throw new Error(`${name} is too large (${size} bytes)`);
    return readFileSync(p);
  }

  stream(name: string): Chunks {
    const p = this.resolve(name);
    if (!p) throw new Error(`${name} is missing from the layout`);
    const fd = openSync(p, "r");
    this.fds.push(fd);
    return fdChunks(fd, 0, fstatSync(fd).size);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
