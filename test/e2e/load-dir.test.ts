// `load` of the containers/image `dir` layouts, made by the real tools from the test rootfs:
// `podman save --format docker-dir` and `skopeo copy … dir:` (plain, gzip, OCI manifests, and a
// manifest list with `--all`). They carry no name: the image is untagged and its id printed, as
// for an OCI layout without ref.name. Broken layouts fail with one line and leave nothing behind.
import { dismantleTestNetworks } from "../networks";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHostAroundEachTest, mydocker, MYDOCKER, ROOTFS, testEnv } from "./helpers";

checkHostAroundEachTest();

/** podman and skopeo write the inputs; the VM guest (make test-vm) has neither */
const TOOLS = Bun.which("podman") !== null && Bun.which("skopeo") !== null;
const describeTools = (name: string, fn: () => void) => describe.skipIf(!TOOLS)(TOOLS ? name : `${name} (skipped: podman and skopeo are not installed here)`, fn);

let scratch: string;
/** the image id podman gave the rootfs import (sha256 of its config) */
let imageId: string;
const at = (name: string) => join(scratch, name);

/** Runs a tool to completion; throws with its stderr when it fails. */
function sh(args: string[]): string {
  const r = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

const sha256 = (b: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "mydocker-loaddir-"));
  if (!TOOLS) return;
  sh(["tar", "-C", ROOTFS, "--numeric-owner", "-cf", at("rootfs.tar"), "."]);
  // podman's own store, runtime dir and no events, all under scratch: the host's podman is untouched
  const podman = ["podman", "--root", at("podman/root"), "--runroot", at("podman/run"), "--storage-driver", "vfs", "--events-backend", "none"];
  imageId = sh([...podman, "import", "-q", at("rootfs.tar"), "localhost/loaddir:1"]).trim();
  sh([...podman, "save", "--format", "docker-dir", "-o", at("podman-dir"), "localhost/loaddir:1"]);
  rmSync(at("podman"), { recursive: true, force: true });
  sh(["skopeo", "copy", "-q", "--dest-compress", `dir:${at("podman-dir")}`, `dir:${at("skopeo-gzip")}`]);
  sh(["skopeo", "copy", "-q", "--format", "oci", `dir:${at("podman-dir")}`, `dir:${at("skopeo-oci")}`]);
  sh(["skopeo", "copy", "-q", `dir:${at("podman-dir")}`, `oci:${at("oci-untagged")}`]);
  // a manifest list: an OCI layout whose index points at an image index, copied with --all
  sh(["skopeo", "copy", "-q", `dir:${at("podman-dir")}`, `oci:${at("oci-list")}:x`]);
  const layout = at("oci-list");
  const top = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const { annotations: _, ...manifest } = top.manifests[0];
  const list = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ ...manifest, platform: { os: "linux", architecture: process.arch === "x64" ? "amd64" : process.arch } }] });
  writeFileSync(join(layout, "blobs/sha256", sha256(list)), list);
  top.manifests = [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: `sha256:${sha256(list)}`, size: list.length, annotations: { "org.opencontainers.image.ref.name": "x" } }];
  writeFileSync(join(layout, "index.json"), JSON.stringify(top));
  sh(["skopeo", "copy", "-q", "--all", `oci:${layout}:x`, `dir:${at("skopeo-all")}`]);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `mydocker` with a data root of its own (so each load starts from an empty store) */
async function withStore<T>(fn: (md: (args: string[]) => ReturnType<typeof mydocker>, dataRoot: string) => Promise<T>): Promise<T> {
  const dataRoot = mkdtempSync(join(tmpdir(), "mydocker-loaddir-store-"));
  try {
    return await fn((args) => mydocker(args, { env: { MYDOCKER_DATA_ROOT: dataRoot } }), dataRoot);
  } finally {
    dismantleTestNetworks(dataRoot); // a container run on it made its default bridge: host-wide
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

describeTools("the inputs are what the tools write", () => {
  test("podman's docker-dir: a v2 schema 2 manifest, blobs named by hex digest, a version file", () => {
    const manifest = JSON.parse(readFileSync(at("podman-dir/manifest.json"), "utf8"));
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(`sha256:${manifest.config.digest.slice(7)}`).toBe(imageId);
    expect(readFileSync(at("podman-dir/version"), "utf8")).toBe("Directory Transport Version: 1.1\n");
    expect(readdirSync(at("podman-dir")).sort()).toEqual([manifest.config.digest.slice(7), manifest.layers[0].digest.slice(7), "manifest.json", "version"].sort());
  });

  test("skopeo --all: manifest.json is the list, the image's manifest is <hex>.manifest.json", () => {
    const list = JSON.parse(readFileSync(at("skopeo-all/manifest.json"), "utf8"));
    expect(Array.isArray(list.manifests)).toBe(true);
    expect(existsSync(at(`skopeo-all/${list.manifests[0].digest.slice(7)}.manifest.json`))).toBe(true);
  });
});

describeTools("load of a dir layout", () => {
  const layouts: [what: string, dir: string][] = [
    ["podman save --format docker-dir", "podman-dir"],
    ["skopeo copy dir: with gzip layers", "skopeo-gzip"],
    ["skopeo copy --format oci dir:", "skopeo-oci"],
    ["skopeo copy --all dir: (a manifest list)", "skopeo-all"],
  ];
  for (const [what, dir] of layouts) {
    test(`${what}: untagged, its id printed; tag by that id, then run it`, async () => {
      await withStore(async (md) => {
        expect(await md(["load", "-q", "-i", at(dir)])).toEqual({ code: 0, stdout: `Loaded image ID: ${imageId}\n`, stderr: "" });
        expect((await md(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).stdout).toBe(`<none>:<none> ${imageId.slice(7, 19)}\n`);
        expect((await md(["tag", imageId.slice(7, 19), "fromdir:1"])).code).toBe(0);
        expect(await md(["run", "--rm", "fromdir:1", "echo", "loaded"])).toEqual({ code: 0, stdout: "loaded\n", stderr: "" });
      });
    });
  }

  test("the same layout as a tar, on stdin", async () => {
    sh(["tar", "-C", at("skopeo-gzip"), "-cf", at("skopeo-gzip.tar"), "."]);
    await withStore(async (_, dataRoot) => {
      const proc = Bun.spawn([MYDOCKER, "load", "-q"], { stdin: Bun.file(at("skopeo-gzip.tar")), stdout: "pipe", stderr: "pipe", env: { ...testEnv(), MYDOCKER_DATA_ROOT: dataRoot } });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `Loaded image ID: ${imageId}\n`, stderr: "" });
    });
  });

  test("an OCI layout without ref.name: untagged, its id printed, tag by that id", async () => {
    await withStore(async (md) => {
      expect(await md(["load", "-q", "-i", at("oci-untagged")])).toEqual({ code: 0, stdout: `Loaded image ID: ${imageId}\n`, stderr: "" });
      expect((await md(["tag", imageId, "fromoci:1"])).code).toBe(0);
      expect((await md(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).stdout).toBe(`fromoci:1 ${imageId.slice(7, 19)}\n`);
    });
  });
});

describeTools("broken dir layouts: one line, exit 1, nothing left in the store", () => {
  /** a copy of podman's layout, changed by `spoil` */
  function spoiled(name: string, spoil: (dir: string, manifest: any) => void): string {
    const dir = at(name);
    rmSync(dir, { recursive: true, force: true });
    cpSync(at("podman-dir"), dir, { recursive: true });
    spoil(dir, JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")));
    return dir;
  }
  const layerOf = (m: any) => m.layers[0].digest.slice(7) as string;

  const cases: [what: string, make: () => string, message: (dir: string) => RegExp][] = [
    ["a layer file missing", () => spoiled("no-layer", (d, m) => rmSync(join(d, layerOf(m)))), () => /layer [0-9a-f]{64} is missing from the archive$/],
    ["a layer that does not match its digest", () => spoiled("bad-layer", (d, m) => {
      const p = join(d, layerOf(m));
      writeFileSync(p, Buffer.concat([readFileSync(p), Buffer.alloc(1024)])); // still a tar, with more padding
    }), () => /layer 1 \([0-9a-f]{64}\): layer content has digest sha256:[0-9a-f]{64}, but the image says sha256:[0-9a-f]{64}$/],
    ["a config that does not match its digest", () => spoiled("bad-config", (d, m) => {
      const p = join(d, m.config.digest.slice(7));
      writeFileSync(p, readFileSync(p, "utf8").replace("linux", "linux "));
    }), () => /does not match its digest/],
    ["a docker schema 1 manifest", () => spoiled("schema1", (d) => writeFileSync(join(d, "manifest.json"), JSON.stringify({ schemaVersion: 1, name: "x", fsLayers: [] }))), () => /manifest.json is a docker schema 1 manifest \(dir layout\): not supported/],
    ["a manifest without layers", () => spoiled("no-layers", (d, m) => writeFileSync(join(d, "manifest.json"), JSON.stringify({ ...m, layers: undefined }))), () => /manifest.json is malformed \(dir layout: expected config and layers descriptors\)$/],
  ];
  for (const [what, make, message] of cases) {
    test(what, async () => {
      const dir = make();
      await withStore(async (md, dataRoot) => {
        const r = await md(["load", "-q", "-i", dir]);
        expect(r.stdout).toBe("");
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toStartWith(`mydocker: error: ${dir}: `);
        expect(lines[0]).toMatch(message(dir));
        expect(r.code).toBe(1);
        expect((await md(["images", "-aq"])).stdout).toBe("");
        expect(existsSync(join(dataRoot, "layers")) ? readdirSync(join(dataRoot, "layers")) : []).toEqual([]);
        expect(existsSync(join(dataRoot, "images")) ? readdirSync(join(dataRoot, "images")) : []).toEqual([]);
      });
    });
  }
});
