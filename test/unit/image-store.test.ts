// The image store on a temporary data root: layers (content-addressed, byte-exact tar rebuild,
// nothing left behind on failure), compressed sources, image records and names, references, and
// the container overlay (mounted for real, then gone).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { lgetxattr } from "../../ffi/fs";
import { hasLayer, importLayer, layerInfo } from "../../src/image/layers";
import { store } from "../../src/image/layout";
import { reassembleTar } from "../../src/image/tar-split";
import { decompress, detectCompression, fdChunks, type Chunks } from "../../src/image/source";
import { commitImage, deleteImage, layerDirs, listImages, requireImage, resolveImage, setTag } from "../../src/image/store";
import { normalizeReference, parseReference } from "../../src/image/reference";
import { humanDuration, humanSize } from "../../src/format";
import { applyChanges } from "../../src/image/import";
import { mountContainerRootfs, removeContainerLayer, unmountContainerRootfs, isMountPoint } from "../../src/image/overlay";
import { imageUsers } from "../../src/image/usage";
import { GNU_TAR, gnuTar, hostMounts, makeTar, sha256, tarOf } from "../image/fixtures";

let scratch: string;
let root: string;

async function* chunksOf(b: Uint8Array, size = 100_000): Chunks {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** Copies each chunk as it comes (generators may reuse their buffer). */
function collect(it: Iterable<Uint8Array>): Buffer {
  const out: Buffer[] = [];
  for (const c of it) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

/** The store holds nothing: no layer, no image, no temp dir. */
function expectEmptyStore() {
  const list = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  expect(list(store.layers())).toEqual([]);
  expect(list(store.images())).toEqual([]);
  expect(list(store.tmp())).toEqual([]);
}

function configFor(layers: string[], extra: object = {}) {
  return Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", created: new Date().toISOString(), config: {}, rootfs: { type: "layers", diff_ids: layers }, ...extra }));
}

// The store reads its roots from the environment at each call; restore them for other test files.
const saved = { data: process.env.MYDOCKER_DATA_ROOT, run: process.env.MYDOCKER_ROOT };
const setDataRoot = (dir: string) => (process.env.MYDOCKER_DATA_ROOT = dir);
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-store-"));
  root = join(scratch, "data");
  setDataRoot(root);
  process.env.MYDOCKER_ROOT = join(scratch, "run");
});
afterAll(() => {
  for (const [k, v] of [["MYDOCKER_DATA_ROOT", saved.data], ["MYDOCKER_ROOT", saved.run]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe("layers", () => {
  test.skipIf(!GNU_TAR)("a layer's tar is rebuilt byte for byte (GNU posix and gnu formats, a real tree)", async () => {
    for (const format of ["posix", "gnu"]) {
      const tar = join(scratch, `rootfs-${format}.tar`);
      gnuTar(join(import.meta.dir, "../../rootfs"), tar, format);
      const bytes = readFileSync(tar);
      const { info, created } = await importLayer(chunksOf(bytes));
      expect(created).toBe(true);
      expect(info.diffId).toBe(sha256(bytes));
      expect(info.tarSize).toBe(bytes.length);
      expect(sha256(collect(reassembleTar(store.layer(info.diffId))))).toBe(info.diffId);
    }
  });

  test("the same content again reuses the layer", async () => {
    const bytes = makeTar([{ name: "a", data: "same" }]);
    const first = await importLayer(chunksOf(bytes));
    const again = await importLayer(chunksOf(bytes));
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(readdirSync(store.tmp())).toEqual([]);
  });

  test("a path given twice and a replaced directory still rebuild exactly (shadowed content)", async () => {
    const bytes = makeTar([
      { name: "f", data: "first version" },
      { name: "d/", type: "5", mode: 0o755 },
      { name: "d/x", data: "inside d" },
      { name: "f", data: "second" },
      { name: "d", data: "d is a file now" },
      { name: ".wh.f" },
    ]);
    const { info } = await importLayer(chunksOf(bytes, 7));
    expect(collect(reassembleTar(store.layer(info.diffId)))).toEqual(bytes);
    expect(lstatSync(join(layerDirs({ layers: [info.diffId] } as any)[0]!, "f")).isCharacterDevice()).toBe(true);
  });

  test("a damaged layer file is detected when rebuilding", async () => {
    const bytes = makeTar([{ name: "victim", data: "original content" }]);
    const { info } = await importLayer(chunksOf(bytes));
    writeFileSync(join(store.layer(info.diffId), "diff", "victim"), "changed");
    expect(() => collect(reassembleTar(store.layer(info.diffId)))).toThrow(/layer content changed: victim/);
  });

  describe("a failed import leaves nothing", () => {
    let fresh: string;
    beforeAll(() => {
      fresh = join(scratch, "data-failures");
      setDataRoot(fresh);
    });
    afterAll(() => setDataRoot(root));

    const big = () => makeTar([{ name: "dir/", type: "5" }, { name: "dir/file", data: "x".repeat(200_000) }, { name: "other", data: "y" }]);
    test("truncated", async () => {
      const b = big();
      await expect(importLayer(chunksOf(b.subarray(0, 150_000)))).rejects.toThrow(/truncated archive: unexpected end of data inside "dir\/file"/);
      expectEmptyStore();
    });
    test("corrupt", async () => {
      const b = big();
      const at = 1024 + Math.ceil(200_000 / 512) * 512 + 100; // inside the header of "other"
      b[at] = b[at]! ^ 1;
      await expect(importLayer(chunksOf(b))).rejects.toThrow(/corrupt archive|truncated/);
      expectEmptyStore();
    });
    test("hostile", async () => {
      await expect(importLayer(chunksOf(makeTar([{ name: "ok", data: "1" }, { name: "../../escape", data: "2" }])))).rejects.toThrow(/refusing archive entry "\.\.\/\.\.\/escape"/);
      expectEmptyStore();
    });
    test("not the digest the config promised", async () => {
      const b = makeTar([{ name: "a", data: "1" }]);
      await expect(importLayer(chunksOf(b), { expect: `sha256:${"0".repeat(64)}` })).rejects.toThrow(/layer content has digest sha256:[0-9a-f]{64}, but the image says sha256:0000/);
      expectEmptyStore();
    });
    test("truncated gzip", async () => {
      const gz = gzipSync(big());
      const chunks = decompress(chunksOf(gz.subarray(0, gz.length - 40)), detectCompression(gz));
      await expect(importLayer(chunks)).rejects.toThrow(/truncated|corrupt/);
      expectEmptyStore();
    });
  });
});

describe("compressed sources", () => {
  test("gzip, zstd, xz and bzip2 streams give the plain tar's digest", async () => {
    const plain = join(scratch, "c.tar");
    tarOf(join(import.meta.dir, "../../rootfs"), plain);
    const digest = sha256(readFileSync(plain));
    for (const [tool, args] of [["gzip", ["-kf"]], ["zstd", ["-qf"]], ["xz", ["-kfT1"]], ["bzip2", ["-kf"]]] as const) {
      if (!Bun.which(tool) || Bun.spawnSync([tool, ...args, plain]).exitCode !== 0) continue; // missing, or busybox's decompress-only applet
      const file = `${plain}.${{ gzip: "gz", zstd: "zst", xz: "xz", bzip2: "bz2" }[tool]}`;
      const fd = openSync(file, "r");
      const head = Buffer.alloc(8);
      readSync(fd, head, 0, 8, 0);
      expect(detectCompression(head)).toBe(tool);
      const h = new Bun.CryptoHasher("sha256");
      for await (const c of decompress(fdChunks(fd), detectCompression(head))) h.update(c);
      closeSync(fd);
      expect(`sha256:${h.digest("hex")}`).toBe(digest);
    }
  });
});

describe("images and names", () => {
  let base: string;
  let top: string;
  let id: string;
  beforeAll(async () => {
    base = (await importLayer(chunksOf(makeTar([{ name: "etc/", type: "5", mode: 0o755 }, { name: "etc/os", data: "base" }])))).info.diffId;
    top = (await importLayer(chunksOf(makeTar([{ name: "app", data: "top" }])))).info.diffId;
    id = commitImage(configFor([base, top], { config: { Cmd: ["sh"], Env: ["A=1"], WorkingDir: "/app", User: "1:1", Entrypoint: ["/init"] } }), ["example/app:1.0"]).id;
  });

  test("resolveImage by name:tag, name (latest), full id, prefixes", () => {
    const img = resolveImage("example/app:1.0")!;
    expect(img.id).toBe(id);
    expect(img.layers).toEqual([base, top]);
    expect(img.config).toEqual({ Cmd: ["sh"], Env: ["A=1"], WorkingDir: "/app", User: "1:1", Entrypoint: ["/init"] });
    expect(img.repoTags).toEqual(["example/app:1.0"]);
    expect(img.size).toBe(layerInfo(base).size + layerInfo(top).size);
    expect(resolveImage("example/app")).toBeUndefined(); // latest does not exist
    setTag("example/app:latest", id);
    expect(resolveImage("example/app")?.id).toBe(id);
    expect(resolveImage(id)?.id).toBe(id);
    expect(resolveImage(id.slice(7))?.id).toBe(id);
    expect(resolveImage(id.slice(7, 19))?.id).toBe(id);
    expect(resolveImage(`sha256:${id.slice(7, 12)}`)?.id).toBe(id);
    expect(resolveImage("nope")).toBeUndefined();
    expect(() => requireImage("nope:1")).toThrow("No such image: nope:1");
  });

  test("layerDirs are the diff dirs, bottom first", () => {
    const dirs = layerDirs(resolveImage("example/app:1.0")!);
    expect(dirs).toEqual([join(root, "layers/sha256", base.slice(7), "diff"), join(root, "layers/sha256", top.slice(7), "diff")]);
    expect(readFileSync(join(dirs[0]!, "etc/os"), "utf8")).toBe("base");
  });

  test("listImages lists each image once with all its names", () => {
    const imgs = listImages().filter((i) => i.id === id);
    expect(imgs).toHaveLength(1);
    expect(imgs[0]!.repoTags).toEqual(["example/app:1.0", "example/app:latest"]);
  });

  test("deleteImage removes the record, its names and only the layers nothing else uses", async () => {
    const other = commitImage(configFor([base]), ["example/base:1"]).id;
    const gone = deleteImage(id);
    expect(gone).toEqual([top]);
    expect(hasLayer(base)).toBe(true);
    expect(hasLayer(top)).toBe(false);
    expect(resolveImage("example/app:1.0")).toBeUndefined();
    expect(deleteImage(other)).toEqual([base]);
  });

  test("commitImage refuses a config whose layers are missing", () => {
    expect(() => commitImage(configFor([`sha256:${"1".repeat(64)}`]), [])).toThrow(/layer sha256:1111.* is missing/);
  });

  test("imageUsers: the containers whose record names the image, broken (dead) records included", () => {
    const run = join(scratch, "run");
    const id = (c: string) => c.repeat(64);
    const record = (cid: string, body: string) => {
      mkdirSync(join(run, cid), { recursive: true });
      writeFileSync(join(run, cid, "state.json"), body);
    };
    // a broken record (fields missing) still names its image: its layer may be mounted
    record(id("1"), JSON.stringify({ id: id("1"), imageId: `sha256:${"a".repeat(64)}`, status: "running" }));
    record(id("2"), JSON.stringify({ id: id("2"), imageId: "b".repeat(64), status: "exited" }));
    record(id("3"), "{not json");
    mkdirSync(join(run, "junk"), { recursive: true });
    expect(imageUsers("a".repeat(64))).toEqual([id("1")]);
    expect(imageUsers(`sha256:${"b".repeat(64)}`)).toEqual([id("2")]);
    expect(imageUsers(`sha256:${"c".repeat(64)}`)).toEqual([]);
  });
});

describe("references", () => {
  test("normalised like docker", () => {
    expect(normalizeReference("busybox")).toBe("busybox:latest");
    expect(normalizeReference("docker.io/library/busybox:1.36")).toBe("busybox:1.36");
    expect(normalizeReference("docker.io/me/app")).toBe("me/app:latest");
    expect(normalizeReference("localhost:5000/a/b:c")).toBe("localhost:5000/a/b:c");
    expect(parseReference("example.com/x_y.z-w")).toEqual({ name: "example.com/x_y.z-w", tag: "latest" });
  });
  test("bad ones are refused with a reason", () => {
    expect(() => parseReference("Busybox")).toThrow('invalid reference format: "Busybox": repository name must be lowercase');
    expect(() => parseReference("a:b:c")).toThrow(/invalid reference format/);
    expect(() => parseReference("x:-bad")).toThrow(/bad tag "-bad"/);
    expect(() => parseReference("a@sha256:00")).toThrow(/digest references are not supported/);
    expect(() => parseReference("")).toThrow(/empty/);
    expect(() => parseReference("a".repeat(64).replace(/a/g, "f"))).toThrow(/hexadecimal/);
  });
});

test("human sizes and ages as docker prints them", () => {
  expect(humanSize(4261000)).toBe("4.26MB");
  expect(humanSize(512)).toBe("512B");
  expect(humanSize(1234)).toBe("1.23kB");
  expect(humanSize(0)).toBe("0B");
  expect(humanDuration(500)).toBe("Less than a second");
  expect(humanDuration(90_000)).toBe("About a minute");
  expect(humanDuration(3 * 3600_000)).toBe("3 hours");
  expect(humanDuration(15 * 86400_000)).toBe("2 weeks");
});

test("--change instructions", () => {
  expect(applyChanges(['CMD ["sh","-c","echo hi"]', "ENTRYPOINT /init --x", "ENV A=1 B=\"two words\"", "ENV C 3", "WORKDIR /srv", "USER nobody"])).toEqual({
    Cmd: ["sh", "-c", "echo hi"],
    Entrypoint: ["/bin/sh", "-c", "/init --x"],
    Env: ["A=1", "B=two words", "C=3"],
    WorkingDir: "/srv",
    User: "nobody",
  });
  expect(applyChanges(['LABEL a=b "c d"="e f"', "LABEL a=z", "EXPOSE 80 53/udp 8080/TCP", "STOPSIGNAL SIGINT"])).toEqual({
    Labels: { a: "z", "c d": "e f" },
    ExposedPorts: { "80/tcp": {}, "53/udp": {}, "8080/tcp": {} },
    StopSignal: "SIGINT",
  });
  expect(() => applyChanges(["EXPOSE 0"])).toThrow(/is no PORT/);
  expect(applyChanges(['LABEL "a=b"=c x="1 \\"2\\""', "EXPOSE 8000-8002/udp"])).toEqual({
    Labels: { "a=b": "c", x: '1 "2"' },
    ExposedPorts: { "8000/udp": {}, "8001/udp": {}, "8002/udp": {} },
  });
  expect(() => applyChanges(["LABEL a=b junk"])).toThrow(/LABEL takes KEY=VALUE pairs; cannot read "junk"/);
  expect(() => applyChanges(['LABEL "a=b'])).toThrow(/LABEL takes KEY=VALUE pairs/);
  expect(() => applyChanges(["STOPSIGNAL SIGBOGUS"])).toThrow(/STOPSIGNAL SIGBOGUS": no such signal/);
  expect(() => applyChanges(["EXPOSE 90-80"])).toThrow(/is no PORT/);
  expect(() => applyChanges(["ONBUILD RUN x"])).toThrow(/ONBUILD is not supported/);
  expect(() => applyChanges(["WORKDIR rel"])).toThrow(/must be absolute/);
  expect(() => applyChanges(["CMD [oops"])).toThrow(/not a JSON array/);
});

describe("container overlay", () => {
  let image: ReturnType<typeof resolveImage> & {};
  const before = () => hostMounts();
  beforeAll(async () => {
    const l1 = (
      await importLayer(
        chunksOf(
          makeTar([
            { name: "keep", data: "kept" },
            { name: "gone", data: "deleted above" },
            { name: "opaque/", type: "5", mode: 0o755 },
            { name: "opaque/old", data: "hidden above" },
            { name: "dir/", type: "5", mode: 0o755 },
            { name: "dir/a", data: "a" },
          ]),
        ),
      )
    ).info.diffId;
    const l2 = (
      await importLayer(
        chunksOf(
          makeTar([
            { name: ".wh.gone" },
            { name: "opaque/", type: "5", mode: 0o755 },
            { name: "opaque/.wh..wh..opq" },
            { name: "opaque/new", data: "new" },
            { name: "dir/b", data: "b" },
            { name: "keep", data: "overridden" },
          ]),
        ),
      )
    ).info.diffId;
    const id = commitImage(configFor([l1, l2]), ["overlay/test:1"]).id;
    image = resolveImage(id)!;
    expect(lgetxattr(join(layerDirs(image)[1]!, "opaque"), "trusted.overlay.opaque")?.toString()).toBe("y");
  });

  test("the merged view applies whiteouts and opaque dirs; unmount keeps upper; remove deletes all", () => {
    const mounts = before();
    const merged = mountContainerRootfs("c0ffee", image);
    try {
      expect(merged).toBe(join(root, "containers/c0ffee/merged"));
      expect(isMountPoint(merged)).toBe(true);
      expect(readdirSync(merged).sort()).toEqual(["dir", "keep", "opaque"]);
      expect(readFileSync(join(merged, "keep"), "utf8")).toBe("overridden");
      expect(readdirSync(join(merged, "opaque"))).toEqual(["new"]);
      expect(readdirSync(join(merged, "dir")).sort()).toEqual(["a", "b"]);
      // mounting again is a no-op
      expect(mountContainerRootfs("c0ffee", image)).toBe(merged);
      writeFileSync(join(merged, "written"), "by the container");
      rmSync(join(merged, "dir/a"));
    } finally {
      unmountContainerRootfs("c0ffee");
    }
    expect(hostMounts()).toEqual(mounts);
    const upper = join(root, "containers/c0ffee/upper");
    expect(readFileSync(join(upper, "written"), "utf8")).toBe("by the container");
    expect(lstatSync(join(upper, "dir/a")).isCharacterDevice()).toBe(true); // the kernel's whiteout = our layer format
    expect(existsSync(join(root, "containers/c0ffee/merged"))).toBe(false);
    // the layers themselves are untouched
    expect(readdirSync(layerDirs(image)[0]!, { recursive: true }).length).toBe(6);
    removeContainerLayer("c0ffee");
    expect(existsSync(join(root, "containers/c0ffee"))).toBe(false);
    expect(hostMounts()).toEqual(mounts);
  });

  test("a stack too long for absolute lowerdirs is mounted through short links", async () => {
    const layers: string[] = [];
    for (let i = 0; i < 45; i++) layers.push((await importLayer(chunksOf(makeTar([{ name: `f${i}`, data: String(i) }])))).info.diffId);
    const id = commitImage(configFor(layers), []).id;
    const mounts = before();
    const merged = mountContainerRootfs("long", resolveImage(id)!);
    try {
      expect(readdirSync(merged).length).toBe(45);
      expect(readFileSync(join(merged, "f44"), "utf8")).toBe("44");
      expect(readdirSync(join(root, "l")).length).toBe(45);
    } finally {
      removeContainerLayer("long");
    }
    expect(hostMounts()).toEqual(mounts);
  });
});
