// What the tar reader accepts after the end-of-archive marker: the padding writers add (kept, it
// belongs to the stream's digest), but not without end — /dev/zero once made `import` run until
// the disk was full.
import { describe, expect, test } from "bun:test";
import { TarFormatError, TarParser, TRAILER_LIMIT } from "../../src/image/tar";
import { makeTar } from "../image/fixtures";

function parse(chunks: Uint8Array[]) {
  const seen = { entries: [] as string[], raw: 0 };
  const p = new TarParser({ entry: (e) => seen.entries.push(e.name), data() {}, entryEnd() {}, raw: (b) => (seen.raw += b.length) });
  for (const c of chunks) p.write(c);
  p.end();
  return { ...seen, offset: p.offset, entryCount: p.entryCount };
}

const archive = makeTar([{ name: "a", data: "hello" }]); // header, one data block, two zero blocks

describe("after the end-of-archive marker", () => {
  test("up to TRAILER_LIMIT bytes are kept as raw bytes (record padding)", () => {
    const r = parse([archive, new Uint8Array(TRAILER_LIMIT - 512)]); // the second zero block counts too
    expect(r.entries).toEqual(["a"]);
    expect(r.raw).toBe(archive.length - 5 + TRAILER_LIMIT - 512); // everything but the content
    expect(r.offset).toBe(archive.length + TRAILER_LIMIT - 512);
  });

  test("one byte more is refused, whatever the chunking", () => {
    for (const chunk of [1 << 20, 4096, 777]) {
      const p = new TarParser({ entry() {}, data() {}, entryEnd() {} });
      const all = Buffer.concat([archive, Buffer.alloc(TRAILER_LIMIT)]);
      const feed = () => {
        for (let off = 0; off < all.length; off += chunk) p.write(all.subarray(off, off + chunk));
      };
      expect(feed).toThrow(new TarFormatError("corrupt archive: more than 1 MiB of data after the end-of-archive marker"));
    }
  });

  test("zeros only: an empty archive, refused once the limit is passed", () => {
    const p = new TarParser({ entry() {}, data() {}, entryEnd() {} });
    expect(() => {
      for (let i = 0; i < 3; i++) p.write(new Uint8Array(1 << 20));
    }).toThrow("empty archive: no entries");
    expect(p.entryCount).toBe(0);
  });

  test("two zero blocks alone end an empty archive (a docker empty layer is exactly that)", () => {
    const r = parse([new Uint8Array(1024)]);
    expect(r.entryCount).toBe(0);
    expect(r.raw).toBe(1024);
  });
});
