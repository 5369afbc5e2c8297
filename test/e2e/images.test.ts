// The image commands on the compiled ./mydocker, each test file run on its own data root and
// runtime root: import (tar, gzip, zstd, directory, stdin), load (a docker save archive and OCI
// layouts this test builds, multi-layer, with whiteouts), images/tag/rmi, save -> load, and the
// errors. Merged views are checked by mounting the image with mountContainerRootfs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dismantleUnder } from "../networks";
import {
  chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { lgetxattr, lsetxattr, mknod, S_IFCHR, S_IFIFO } from "../../ffi/fs";
import { BINARY, PROJECT, USER_XATTRS, hostMounts, listing, makeTar, runMydocker, sha256, tarOf, type RawEntry } from "../image/fixtures";

let scratch: string;
let env: Record<string, string>;
const data = () => env.MYDOCKER_DATA_ROOT!;
const md = (args: string[], stdin?: Uint8Array, e = env) => runMydocker(args, e, stdin);
const lines = (s: string) => s.trim().split("\n").filter(Boolean);
const hex = (d: string) => d.replace(/^sha256:/, "");
const layerDir = (diffId: string, root = data()) => join(root, "layers/sha256", hex(diffId), "diff");
const repositories = (root = data()) => JSON.parse(readFileSync(join(root, "repositories.json"), "utf8")) as Record<string, string>;
const imageConfig = (id: string, root = data()) => JSON.parse(readFileSync(join(root, "images", `${hex(id)}.json`), "utf8"));
const layersOf = (ref: string, root = data()) => imageConfig(repositories(root)[ref]!, root).rootfs.diff_ids as string[];

/** Nothing half-made: no temp dir, and exactly these layers and images. */
function expectStore(layers: number, images: number, root = data()) {
  const count = (d: string) => (existsSync(d) ? readdirSync(d).length : 0);
  expect(count(join(root, "tmp"))).toBe(0);
  expect(count(join(root, "layers/sha256"))).toBe(layers);
  expect(count(join(root, "images"))).toBe(images);
}

function freshEnv(name: string): Record<string, string> {
  return { MYDOCKER_DATA_ROOT: join(scratch, name, "data"), MYDOCKER_ROOT: join(scratch, name, "run") };
}

/** A tree with every kind of node. */
function buildTree(dir: string): void {
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "etc"));
  mkdirSync(join(dir, "tmp"));
  chmodSync(join(dir, "tmp"), 0o1777);
  writeFileSync(join(dir, "bin/tool"), "#!/bin/sh\necho tool\n");
  chmodSync(join(dir, "bin/tool"), 0o4755);
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  writeFileSync(join(dir, "etc/owned"), "owned");
  chownSync(join(dir, "etc/owned"), 1000, 1001);
  symlinkSync("/bin/tool", join(dir, "bin/abs"));
  symlinkSync("tool", join(dir, "bin/rel"));
  linkSync(join(dir, "bin/tool"), join(dir, "bin/hard"));
  mknod(join(dir, "etc/fifo"), S_IFIFO | 0o600);
  mknod(join(dir, "etc/null"), S_IFCHR | 0o666, 1, 3);
  chmodSync(join(dir, "etc/null"), 0o666); // mknod is subject to the umask
  writeFileSync(join(dir, "etc/xattr"), "x");
  lsetxattr(join(dir, "etc/xattr"), USER_XATTRS ? "user.note" : "trusted.note", Buffer.from("kept"));
  writeFileSync(join(dir, "big"), Buffer.alloc(3 << 20, 7));
}

beforeAll(() => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`make build\``);
  scratch = mkdtempSync(join(tmpdir(), "mydocker-images-"));
  env = freshEnv("main");
  buildTree(join(scratch, "tree"));
  tarOf(join(scratch, "tree"), join(scratch, "tree.tar"));
  writeFileSync(join(scratch, "tree.tar.gz"), gzipSync(readFileSync(join(scratch, "tree.tar"))));
  writeFileSync(join(scratch, "tree.tar.zst"), Bun.zstdCompressSync(readFileSync(join(scratch, "tree.tar"))));
});

afterAll(() => {
  dismantleUnder(scratch); // bridges and nftables tables of their data roots are host-wide
  rmSync(scratch, { recursive: true, force: true });
});

describe("import", () => {
  test("a tar, a .tar.gz, a .tar.zst: one layer, three names", async () => {
    const digest = sha256(readFileSync(join(scratch, "tree.tar")));
    for (const [file, name] of [["tree.tar", "tree:plain"], ["tree.tar.gz", "tree:gz"], ["tree.tar.zst", "tree:zst"]]) {
      const r = await md(["import", join(scratch, file!), name!]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect(layersOf(`${name}`)).toEqual([digest]);
    }
    expect(readdirSync(join(data(), "layers/sha256"))).toEqual([hex(digest)]);
    expect(listing(layerDir(digest))).toEqual(listing(join(scratch, "tree")));
    // the kinds of node the listing covers
    const l = listing(layerDir(digest)).join("\n");
    expect(l).toContain("bin/tool f 4755");
    expect(l).toContain("tmp d 1777");
    expect(l).toContain("etc/owned f 644 1000:1001");
    expect(l).toContain("bin/hard f 4755 0:0 20");
    expect(l).toContain("hardlink:bin/hard");
    expect(l).toContain("etc/null c 666 0:0 dev 259");
    expect(l).toContain("etc/fifo p 600");
    expect(l).toContain(`${USER_XATTRS ? "user" : "trusted"}.note=${Buffer.from("kept").toString("hex")}`);
  });

  test("a directory, and stdin", async () => {
    const dir = await md(["import", join(scratch, "tree"), "tree:dir"]);
    expect(dir.code).toBe(0);
    expect(listing(layerDir(layersOf("tree:dir")[0]!))).toEqual(listing(join(scratch, "tree")));
    const stdin = await md(["import", "-", "tree:stdin"], readFileSync(join(scratch, "tree.tar.gz")));
    expect(stdin.stderr).toBe("");
    expect(layersOf("tree:stdin")).toEqual(layersOf("tree:plain"));
  });

  test("the same import again keeps the image; --change makes another", async () => {
    const a = await md(["import", join(scratch, "tree"), "again:1"]);
    const b = await md(["import", join(scratch, "tree"), "again:1"]);
    expect(b.stdout).toBe(a.stdout);
    const c = await md(["import", "-c", 'CMD ["/bin/tool"]', "--change", "ENV A=1", "-c", "WORKDIR /etc", join(scratch, "tree"), "again:1"]);
    expect(c.stdout).not.toBe(a.stdout);
    expect(imageConfig(c.stdout.trim()).config).toEqual({ Cmd: ["/bin/tool"], Env: ["A=1"], WorkingDir: "/etc" });
    expect((await md(["images", "-q", "again"])).stdout.trim()).toBe(hex(c.stdout.trim()).slice(0, 12));
    // the first image lost its name but is still there, as <none>
    expect((await md(["images"])).stdout).toMatch(new RegExp(`\n<none>\\s+<none>\\s+${hex(a.stdout.trim()).slice(0, 12)}\\s`));
    expect((await md(["rmi", a.stdout.trim()])).code).toBe(0);
  });

  test("without a name the image is listed as <none>", async () => {
    const e = freshEnv("unnamed");
    const r = await md(["import", join(scratch, "tree.tar")], undefined, e);
    expect(r.code).toBe(0);
    expect(lines((await md(["images"], undefined, e)).stdout)[1]).toMatch(/^<none>\s+<none>\s+[0-9a-f]{12}\s+/);
  });

  test("concurrent imports into one store all keep their names", async () => {
    const e = freshEnv("concurrent");
    const runs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => {
        const file = join(scratch, `c${i}.tar`);
        writeFileSync(file, makeTar([{ name: `file${i}`, data: String(i) }, { name: "shared", data: "same" }]));
        return md(["import", file, `concurrent:${i}`], undefined, e);
      }),
    );
    for (const r of runs) expect(r.code).toBe(0);
    expect(Object.keys(repositories(e.MYDOCKER_DATA_ROOT)).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `concurrent:${i}`));
    expectStore(6, 6, e.MYDOCKER_DATA_ROOT);
  });
});

describe("import errors: one line, exit 1, nothing left behind", () => {
  let e: Record<string, string>;
  beforeAll(() => {
    e = freshEnv("import-errors");
  });
  const tarBytes = () => readFileSync(join(scratch, "tree.tar"));
  const cases: [string, () => [string[], Uint8Array?], RegExp][] = [
    ["a missing file", () => [["import", join(scratch, "nope.tar"), "x"]], /nope\.tar: no such file or directory/],
    ["a truncated tar", () => [["import", "-", "x"], tarBytes().subarray(0, 1_500_000)], /stdin: truncated archive: unexpected end of data inside "(\.\/)?big"/],
    ["a tar cut before its end marker", () => [["import", "-", "x"], tarBytes().subarray(0, tarBytes().length - 10240)], /stdin: truncated archive/],
    ["a truncated .tar.gz", () => {
      const gz = readFileSync(join(scratch, "tree.tar.gz"));
      return [["import", "-", "x"], gz.subarray(0, gz.length - 100)];
    }, /stdin: corrupt or truncated gzip data \(unexpected end of file\)/],
    ["a corrupt .tar.gz", () => {
      const gz = Buffer.from(readFileSync(join(scratch, "tree.tar.gz")));
      gz[200] = gz[200]! ^ 0xff;
      gz[201] = gz[201]! ^ 0xff;
      return [["import", "-", "x"], gz];
    }, /stdin: (corrupt or truncated gzip data|corrupt archive|truncated archive)/],
    ["a text file", () => [["import", "-", "x"], Buffer.from("just text\n".repeat(100))], /stdin: not a tar archive/],
    ["an entry escaping with ..", () => [["import", "-", "x"], makeTar([{ name: "ok", data: "1" }, { name: "../escape", data: "2" }])], /refusing archive entry "\.\.\/escape"/],
    ["a file through a symlink", () => [["import", "-", "x"], makeTar([{ name: "l", type: "2", linkname: "/tmp" }, { name: "l/mydocker-escape", data: "2" }])], /its parent "l" is a symlink/],
    ["a bad name", () => [["import", join(scratch, "tree.tar"), "Bad/Name"]], /invalid reference format: "Bad\/Name": repository name must be lowercase/],
    ["no arguments", () => [["import"]], /"import" requires at least 1 argument/],
    ["too many arguments", () => [["import", "a", "b", "c"]], /"import" requires at most 2 arguments/],
    ["an unsupported --change", () => [["import", "-c", "ONBUILD RUN x", join(scratch, "tree.tar"), "x"]], /ONBUILD is not supported/],
  ];
  for (const [what, args, err] of cases) {
    test(what, async () => {
      const [argv, stdin] = args();
      const r = await md(argv, stdin, e);
      expect(r.code).toBe(/requires at/.test(err.source) ? 125 : 1); // a command line that does not parse: docker's 125
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^mydocker: error: /);
      expect(r.stderr).toMatch(err);
      expectStore(0, 0, e.MYDOCKER_DATA_ROOT);
      expect(existsSync("/tmp/mydocker-escape")).toBe(false);
    });
  }
});

// ---------------------------------------------------------------- load

/** Two layers: the second deletes a file of the first (whiteout) and replaces a directory's content (opaque). */
const LAYER1: RawEntry[] = [
  { name: "bin/", type: "5", mode: 0o755 },
  { name: "bin/sh", data: "#!shell", mode: 0o755 },
  { name: "etc/", type: "5", mode: 0o755 },
  { name: "etc/passwd", data: "root:x:0:0\n" },
  { name: "etc/old.conf", data: "to be deleted" },
  { name: "opq/", type: "5", mode: 0o755 },
  { name: "opq/a", data: "a" },
  { name: "opq/b", data: "b" },
  { name: "keep/", type: "5", mode: 0o700 },
  { name: "keep/x", data: "x" },
];
const LAYER2: RawEntry[] = [
  { name: "etc/", type: "5", mode: 0o755 },
  { name: "etc/.wh.old.conf" },
  { name: "opq/", type: "5", mode: 0o755 },
  { name: "opq/.wh..wh..opq" },
  { name: "opq/c", data: "c" },
  { name: "new", data: "added" },
];

function ociConfig(diffIds: string[], cmd = ["/bin/sh"]) {
  return Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2024-01-02T03:04:05Z",
      config: { Cmd: cmd, Env: ["PATH=/bin"], WorkingDir: "/", User: "0" },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map(() => ({ created_by: "test" })),
    }),
  );
}

/** A `docker save` (pre-25) archive: <id>/layer.tar, a symlinked repeated layer, <config>.json, manifest.json. */
function dockerSave(dir: string): string {
  const l1 = makeTar(LAYER1);
  const l2 = makeTar(LAYER2);
  const [d1, d2] = [sha256(l1), sha256(l2)];
  const cfg1 = ociConfig([d1, d2]);
  const cfg2 = ociConfig([d1], ["/bin/sh", "-c", "base"]);
  const id3 = "f".repeat(64); // the base image's layer dir: a symlink to the first
  for (const [id, bytes] of [[hex(d1), l1], [hex(d2), l2]] as const) {
    mkdirSync(join(dir, id), { recursive: true });
    writeFileSync(join(dir, id, "layer.tar"), bytes);
    writeFileSync(join(dir, id, "VERSION"), "1.0");
  }
  mkdirSync(join(dir, id3));
  symlinkSync(`../${hex(d1)}/layer.tar`, join(dir, id3, "layer.tar"));
  writeFileSync(join(dir, `${hex(sha256(cfg1))}.json`), cfg1);
  writeFileSync(join(dir, `${hex(sha256(cfg2))}.json`), cfg2);
  writeFileSync(
    join(dir, "manifest.json"),
    JSON.stringify([
      { Config: `${hex(sha256(cfg1))}.json`, RepoTags: ["test/save:1"], Layers: [`${hex(d1)}/layer.tar`, `${hex(d2)}/layer.tar`] },
      { Config: `${hex(sha256(cfg2))}.json`, RepoTags: ["docker.io/library/savebase:latest"], Layers: [`${id3}/layer.tar`] },
    ]),
  );
  const out = `${dir}.tar`;
  tarOf(dir, out);
  return out;
}

/** An OCI layout (skopeo's `oci:` shape): gzip and zstd layers; optionally a nested multi-platform index. */
function ociLayout(dir: string, { nested = false } = {}): { dir: string; config: string } {
  const l1 = makeTar(LAYER1);
  const l2 = makeTar(LAYER2);
  const blobs = join(dir, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (b: Uint8Array) => {
    const d = sha256(b);
    writeFileSync(join(blobs, hex(d)), b);
    return { digest: d, size: b.length };
  };
  const z1 = put(gzipSync(l1));
  const z2 = put(Bun.zstdCompressSync(l2));
  const cfgBytes = ociConfig([sha256(l1), sha256(l2)]);
  const cfg = put(cfgBytes);
  const manifest = (config: { digest: string; size: number }) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...z1 },
          { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", ...z2 },
        ],
      }),
    );
  const m = put(manifest(cfg));
  let top: object = { mediaType: "application/vnd.oci.image.manifest.v1+json", ...m };
  if (nested) {
    // another platform's manifest (with a config whose layers are absent): must not be picked
    const otherCfg = put(ociConfig([`sha256:${"e".repeat(64)}`]));
    const other = put(manifest(otherCfg));
    const list = put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [
            { mediaType: "application/vnd.oci.image.manifest.v1+json", ...other, platform: { os: "linux", architecture: "s390x" } },
            { mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, platform: { os: "linux", architecture: process.arch === "arm64" ? "arm64" : "amd64" } },
          ],
        }),
      ),
    );
    top = { mediaType: "application/vnd.oci.image.index.v1+json", ...list };
  }
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": "example.com/oci/test:v1" } }] }),
  );
  return { dir, config: cfg.digest };
}

/** The merged view of an image, through mountContainerRootfs in this process (env points it at the data root). */
async function mergedView(ref: string, e = env): Promise<{ files: string[]; content: Record<string, string> }> {
  const saved = { d: process.env.MYDOCKER_DATA_ROOT, r: process.env.MYDOCKER_ROOT };
  process.env.MYDOCKER_DATA_ROOT = e.MYDOCKER_DATA_ROOT;
  process.env.MYDOCKER_ROOT = e.MYDOCKER_ROOT;
  const { resolveImage } = await import("../../src/image/store");
  const { mountContainerRootfs, removeContainerLayer } = await import("../../src/image/overlay");
  const mounts = hostMounts();
  try {
    const image = resolveImage(ref)!;
    expect(image).toBeDefined();
    const merged = mountContainerRootfs("e2e-view", image);
    try {
      const files = (readdirSync(merged, { recursive: true }) as string[]).sort();
      const content: Record<string, string> = {};
      for (const f of files) if (lstatSync(join(merged, f)).isFile()) content[f] = readFileSync(join(merged, f), "utf8");
      return { files, content };
    } finally {
      removeContainerLayer("e2e-view");
    }
  } finally {
    expect(hostMounts()).toEqual(mounts);
    for (const [k, v] of [["MYDOCKER_DATA_ROOT", saved.d], ["MYDOCKER_ROOT", saved.r]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const MERGED_FILES = ["bin", "bin/sh", "etc", "etc/passwd", "keep", "keep/x", "new", "opq", "opq/c"];

describe("load", () => {
  test("a docker save archive: two images, a shared (symlinked) layer, whiteouts and an opaque dir", async () => {
    const archive = dockerSave(join(scratch, "docker-save"));
    const e = freshEnv("load-docker");
    const r = await md(["load", "-i", archive], undefined, e);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(["Loaded image: test/save:1", "Loaded image: savebase:latest"]);
    expectStore(2, 2, e.MYDOCKER_DATA_ROOT);
    const [d1, d2] = layersOf("test/save:1", e.MYDOCKER_DATA_ROOT);
    expect(layersOf("savebase:latest", e.MYDOCKER_DATA_ROOT)).toEqual([d1!]);
    // the layer dirs are in overlayfs format
    const wh = lstatSync(join(layerDir(d2!, e.MYDOCKER_DATA_ROOT), "etc/old.conf"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(lgetxattr(join(layerDir(d2!, e.MYDOCKER_DATA_ROOT), "opq"), "trusted.overlay.opaque")?.toString()).toBe("y");
    expect(existsSync(join(layerDir(d2!, e.MYDOCKER_DATA_ROOT), "opq/.wh..wh..opq"))).toBe(false);
    // and the image, mounted, is the two layers applied
    const view = await mergedView("test/save:1", e);
    expect(view.files).toEqual(MERGED_FILES);
    expect(view.content["opq/c"]).toBe("c");
    expect((await mergedView("savebase", e)).files).toEqual(["bin", "bin/sh", "etc", "etc/old.conf", "etc/passwd", "keep", "keep/x", "opq", "opq/a", "opq/b"]);
    // loading again changes nothing
    const again = await md(["load", "-i", archive], undefined, e);
    expect(lines(again.stdout)).toEqual(lines(r.stdout));
    expectStore(2, 2, e.MYDOCKER_DATA_ROOT);
  });

  test("a docker save archive, gzip-compressed, on stdin", async () => {
    const archive = readFileSync(join(scratch, "docker-save.tar"));
    const e = freshEnv("load-stdin");
    const r = await md(["load"], gzipSync(archive), e);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual(["Loaded image: test/save:1", "Loaded image: savebase:latest"]);
    expectStore(2, 2, e.MYDOCKER_DATA_ROOT);
  });

  test("an OCI layout directory (gzip and zstd layers) and the same layout as a tar with a multi-platform index", async () => {
    const { dir, config } = ociLayout(join(scratch, "oci"));
    const e = freshEnv("load-oci");
    const r = await md(["load", "-i", dir], undefined, e);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual(["Loaded image: example.com/oci/test:v1"]);
    expect(repositories(e.MYDOCKER_DATA_ROOT)["example.com/oci/test:v1"]).toBe(config);
    expect((await mergedView("example.com/oci/test:v1", e)).files).toEqual(MERGED_FILES);

    const nested = ociLayout(join(scratch, "oci-nested"), { nested: true });
    tarOf(nested.dir, `${nested.dir}.tar`);
    const e2 = freshEnv("load-oci-tar");
    const r2 = await md(["load", "-i", `${nested.dir}.tar`], undefined, e2);
    expect(r2.stderr).toBe("");
    expect(lines(r2.stdout)).toEqual(["Loaded image: example.com/oci/test:v1"]);
    expect(repositories(e2.MYDOCKER_DATA_ROOT)["example.com/oci/test:v1"]).toBe(config);
    // the docker archive's layers and the OCI one's are the same content: same diff ids
    expect(layersOf("example.com/oci/test:v1", e2.MYDOCKER_DATA_ROOT)).toEqual(layersOf("test/save:1", freshEnv("load-docker").MYDOCKER_DATA_ROOT));
  });

  describe("errors leave no layer, record or temp dir", () => {
    let e: Record<string, string>;
    beforeAll(() => {
      e = freshEnv("load-errors");
    });
    const expectFailure = async (args: string[], err: RegExp, stdin?: Uint8Array) => {
      const r = await md(args, stdin, e);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(err);
      expectStore(0, 0, e.MYDOCKER_DATA_ROOT);
    };
    test("a rootfs tarball is not an image archive", () =>
      expectFailure(["load", "-i", join(scratch, "tree.tar")], /tree\.tar: not an image archive \(no manifest\.json or index\.json; for a root filesystem tarball use "mydocker import"\)/));
    test("a layer that is not what the config says", async () => {
      const dir = join(scratch, "bad-layer");
      dockerSave(dir);
      // the second layer's content swapped for another valid tar
      writeFileSync(join(dir, hex(sha256(makeTar(LAYER2))), "layer.tar"), makeTar([{ name: "intruder", data: "!" }]));
      tarOf(dir, `${dir}.tar`);
      await expectFailure(["load", "-i", `${dir}.tar`], /layer \d \(.*layer\.tar\): layer content has digest sha256:[0-9a-f]+, but the image says sha256:/);
    });
    test("a truncated archive", async () => {
      const bytes = readFileSync(join(scratch, "docker-save.tar"));
      await expectFailure(["load"], /stdin: truncated archive/, bytes.subarray(0, 3000));
    });
    test("an OCI blob that does not match its digest", async () => {
      const { dir } = ociLayout(join(scratch, "oci-bad"));
      const blobs = join(dir, "blobs/sha256");
      const gz = readdirSync(blobs).find((n) => readFileSync(join(blobs, n)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])))!;
      const b = readFileSync(join(blobs, gz));
      writeFileSync(join(blobs, gz), Buffer.concat([b, Buffer.from("trailing junk")])); // still decompresses, digest differs
      await expectFailure(["load", "-i", dir], /does not match its digest|corrupt or truncated gzip/);
    });
    test("load from a terminal without -i, and stray arguments", async () => {
      const r = await md(["load", "extra"], undefined, e);
      expect(r.stderr).toMatch(/"load" requires exactly 0 arguments/);
    });
  });
});

// ---------------------------------------------------------------- names

describe("images, tag, rmi", () => {
  let e: Record<string, string>;
  let id: string;
  beforeAll(async () => {
    e = freshEnv("names");
    id = (await md(["import", join(scratch, "tree.tar"), "first:1"], undefined, e)).stdout.trim();
  });
  const run = (args: string[]) => md(args, undefined, e);

  test("images: docker's columns; -q; --no-trunc; --format json and templates; a filter", async () => {
    const r = await run(["images"]);
    const [head, row] = lines(r.stdout);
    expect(head).toMatch(/^REPOSITORY\s{3,}TAG\s{3,}IMAGE ID\s{3,}CREATED\s{3,}SIZE$/);
    expect(row).toMatch(new RegExp(`^first\\s+1\\s+${hex(id).slice(0, 12)}\\s+(Less than a second|\\d+ seconds?) ago\\s+3\\.\\d\\dMB$`));
    expect((await run(["images", "-q"])).stdout).toBe(`${hex(id).slice(0, 12)}\n`);
    expect((await run(["images", "--no-trunc", "-q"])).stdout).toBe(`${id}\n`);
    const json = JSON.parse((await run(["images", "--format", "json"])).stdout);
    expect(json).toMatchObject({ Repository: "first", Tag: "1", ID: hex(id).slice(0, 12) });
    expect((await run(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).stdout).toBe(`first:1 ${hex(id).slice(0, 12)}\n`);
    const nope = await run(["images", "--format", "{{.Nope}}"]);
    expect([nope.code, nope.stderr]).toEqual([125, expect.stringMatching(/can't evaluate field Nope/)]); // docker's words and usage exit
    expect(lines((await run(["images", "other"])).stdout)).toEqual([expect.stringMatching(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/)]);
    expect(lines((await run(["images", "first:1"])).stdout)).toHaveLength(2);
  });

  test("tag adds a name for the same id; errors name the problem", async () => {
    expect((await run(["tag", "first:1", "second"])).code).toBe(0);
    expect((await run(["tag", hex(id).slice(0, 8), "example.com/third:x"])).code).toBe(0);
    const rows = lines((await run(["images", "--format", "{{.Repository}}:{{.Tag}}={{.ID}}"])).stdout);
    expect(rows.sort()).toEqual([`example.com/third:x=${hex(id).slice(0, 12)}`, `first:1=${hex(id).slice(0, 12)}`, `second:latest=${hex(id).slice(0, 12)}`]);
    const missing = await run(["tag", "nope", "x"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("mydocker: error: No such image: nope\n");
    expect((await run(["tag", "first:1", "UPPER"])).stderr).toMatch(/repository name must be lowercase/);
    expect((await run(["tag", "first:1"])).stderr).toMatch(/"tag" requires exactly 2 arguments/);
  });

  test("rmi: a name of several only untags; an id with several names needs -f; in-use images are refused", async () => {
    const r1 = await run(["rmi", "second"]);
    expect(r1.stdout).toBe("Untagged: second:latest\n");
    const r2 = await run(["rmi", hex(id).slice(0, 12)]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);
    // a container (a state.json under the runtime root) uses it
    const cid = "c0".repeat(32);
    const state = join(e.MYDOCKER_ROOT!, cid);
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "state.json"), JSON.stringify({ id: cid, imageId: id, status: "exited" }));
    const forced = await run(["rmi", "-f", hex(id)]);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/unable to delete [0-9a-f]{64} \(cannot be forced\) - image [0-9a-f]{12} is used by container c0c0c0c0c0c0/);
    // one name of two can go; the last one cannot while the container exists
    const both = await run(["rmi", "first:1", "example.com/third:x"]);
    expect(both.code).toBe(1);
    expect(both.stdout).toBe("Untagged: first:1\n");
    expect(both.stderr).toMatch(/^mydocker: error: conflict: unable to delete example\.com\/third:x \(cannot be forced\) - image [0-9a-f]{12} is used by container c0c0c0c0c0c0\n$/);
    expect(lines((await run(["images", "-q"])).stdout)).toEqual([hex(id).slice(0, 12)]);
    rmSync(state, { recursive: true });
    const ok = await run(["rmi", "example.com/third:x"]);
    expect(ok.code).toBe(0);
    expect(lines(ok.stdout)).toEqual(["Untagged: example.com/third:x", `Deleted: ${id}`, `Deleted: ${layersOf("tree:plain")[0]}`]);
    expectStore(0, 0, e.MYDOCKER_DATA_ROOT);
  });

  test("rmi of something missing: the others still go, exit 1", async () => {
    await run(["import", join(scratch, "tree.tar"), "gone:1"]);
    const r = await run(["rmi", "nope", "gone:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mydocker: error: No such image: nope\n");
    expect(r.stdout).toMatch(/^Untagged: gone:1\nDeleted: sha256:/);
    expect((await run(["rmi"])).stderr).toMatch(/"rmi" requires at least 1 argument/);
  });
});

// ---------------------------------------------------------------- save

describe("save", () => {
  test("save -> load gives the same image id and layer digests; the archive is an OCI layout with docker's manifest.json", async () => {
    const from = freshEnv("load-docker"); // loaded above
    const out = join(scratch, "saved.tar");
    const s = await md(["save", "-o", out, "test/save:1", "savebase"], undefined, from);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    const names = Bun.spawnSync(["tar", "-tf", out]).stdout.toString().trim().split("\n");
    expect(names).toContain("oci-layout");
    expect(names).toContain("index.json");
    expect(names).toContain("manifest.json");
    const [d1, d2] = layersOf("test/save:1", from.MYDOCKER_DATA_ROOT);
    for (const d of [d1!, d2!]) expect(names).toContain(`blobs/sha256/${hex(d)}`);
    // each blob's content has its name's digest
    const x = join(scratch, "saved-x");
    mkdirSync(x);
    Bun.spawnSync(["tar", "-xf", out, "-C", x]);
    for (const b of readdirSync(join(x, "blobs/sha256"))) expect(sha256(readFileSync(join(x, "blobs/sha256", b)))).toBe(`sha256:${b}`);
    const index = JSON.parse(readFileSync(join(x, "index.json"), "utf8"));
    expect(index.manifests.map((m: any) => m.annotations["io.containerd.image.name"]).sort()).toEqual(["docker.io/library/savebase:latest", "docker.io/test/save:1"]);
    const manifest = JSON.parse(readFileSync(join(x, "manifest.json"), "utf8"));
    expect(manifest[0].RepoTags).toEqual(["test/save:1"]);

    const to = freshEnv("save-roundtrip");
    const l = await md(["load", "-i", out], undefined, to);
    expect(l.stderr).toBe("");
    expect(lines(l.stdout).sort()).toEqual(["Loaded image: savebase:latest", "Loaded image: test/save:1"]);
    expect(repositories(to.MYDOCKER_DATA_ROOT)).toEqual(repositories(from.MYDOCKER_DATA_ROOT));
    expect(layersOf("test/save:1", to.MYDOCKER_DATA_ROOT)).toEqual([d1!, d2!]);
    // and via the OCI index alone (as podman or skopeo read it)
    rmSync(join(x, "manifest.json"));
    const oci = freshEnv("save-oci-only");
    const l2 = await md(["load", "-i", x], undefined, oci);
    expect(lines(l2.stdout).sort()).toEqual(["Loaded image: savebase:latest", "Loaded image: test/save:1"]);
    expect(repositories(oci.MYDOCKER_DATA_ROOT)).toEqual(repositories(from.MYDOCKER_DATA_ROOT));
  });

  test("save to stdout; an imported image round-trips too; errors", async () => {
    const e = freshEnv("save-stdout");
    await md(["import", join(scratch, "tree.tar.gz"), "tree:1"], undefined, e);
    const proc = Bun.spawn([BINARY, "save", "tree:1"], { env: { PATH: process.env.PATH!, ...e }, stdout: "pipe", stderr: "pipe" });
    const bytes = new Uint8Array(await new Response(proc.stdout).arrayBuffer());
    expect(await proc.exited).toBe(0);
    const to = freshEnv("save-stdout-back");
    const l = await md(["load"], bytes, to);
    expect(l.stdout).toBe("Loaded image: tree:1\n");
    expect(repositories(to.MYDOCKER_DATA_ROOT)).toEqual(repositories(e.MYDOCKER_DATA_ROOT));
    expect(listing(layerDir(layersOf("tree:1", to.MYDOCKER_DATA_ROOT)[0]!, to.MYDOCKER_DATA_ROOT))).toEqual(listing(join(scratch, "tree")));
    const bad = await md(["save", "-o", join(scratch, "x.tar"), "nope"], undefined, e);
    expect(bad.stderr).toBe("mydocker: error: No such image: nope\n");
    expect(existsSync(join(scratch, "x.tar"))).toBe(false);
  });
});

// ---------------------------------------------------------------- busybox and the terminal

describe("the busybox rootfs", () => {
  test("imports with every file of ./rootfs", async () => {
    const e = freshEnv("busybox");
    const r = await md(["import", join(PROJECT, "rootfs"), "busybox:latest"], undefined, e);
    expect(r.code).toBe(0);
    const diff = layerDir(layersOf("busybox:latest", e.MYDOCKER_DATA_ROOT)[0]!, e.MYDOCKER_DATA_ROOT);
    const count = (d: string) => (readdirSync(d, { recursive: true }) as string[]).length;
    expect(count(diff)).toBe(count(join(PROJECT, "rootfs")));
    expect(listing(diff, { mtime: false })).toEqual(listing(join(PROJECT, "rootfs"), { mtime: false }));
  });

  test("make rootfs put busybox:latest in the default data root (checked when it is there)", async () => {
    if (!existsSync("/var/lib/mydocker/repositories.json")) return; // not made on this machine
    const r = await runMydocker(["images", "busybox:latest"], { MYDOCKER_DATA_ROOT: "/var/lib/mydocker" });
    expect(lines(r.stdout)[1]).toMatch(/^busybox\s+latest\s+[0-9a-f]{12}\s/);
  });
});

test("a long import shows a progress bar on a terminal, and nothing otherwise", async () => {
  const e = freshEnv("progress");
  // stdin trickles in over ~1 s, so the bar (shown after 300 ms) gets drawn
  const feeder = `(head -c 1500000 ${join(scratch, "tree.tar")}; sleep 1; tail -c +1500001 ${join(scratch, "tree.tar")})`;
  const cmd = `${feeder} | MYDOCKER_DATA_ROOT=${e.MYDOCKER_DATA_ROOT} ${BINARY} import - progress:tty >/dev/null`;
  const proc = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { PATH: process.env.PATH! } });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  expect(out).toMatch(/Importing stdin [\d.]+[kM]B [\d.]+[kMG]?B\/s/);
  const plain = await md(["import", "-", "progress:pipe"], readFileSync(join(scratch, "tree.tar")), e);
  expect(plain.stderr).toBe("");
});
