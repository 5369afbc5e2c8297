// `mydocker diff NAME`, `mydocker commit NAME IMAGE[:TAG]`, `mydocker export NAME -o FILE`: a
// container's filesystem as changes, as a new image, as a tar.
import { closeSync, existsSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { defineCommand } from "citty";
import { UsageError } from "../cli/argv";
import { openCgroup } from "../cgroups";
import { findLive } from "../state/live";
import type { ContainerState } from "../state/store";
import { parseCommand } from "./args";

const imageModules = () => ({
  store: require("../image/store") as typeof import("../image/store"),
  overlay: require("../image/overlay") as typeof import("../image/overlay"),
  fs: require("../image/container-fs") as typeof import("../image/container-fs"),
  tar: require("../image/tar-write") as typeof import("../image/tar-write"),
});

function imageOf(s: ContainerState, verb: string) {
  if (!s.imageId) throw new UsageError(`${verb}: container ${s.name} runs on a plain rootfs (${s.rootfs}), not on an image`);
  return imageModules().store.requireImage(s.imageId);
}

export const diff = defineCommand({
  meta: { name: "diff", description: "List the files a container added (A), changed (C) or deleted (D)" },
  args: { container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { positionals } = parseCommand("diff", rawArgs, {}, 1, "CONTAINER");
    const s = findLive(positionals[0]!);
    for (const c of imageModules().fs.containerChanges(s.id, imageOf(s, "diff"))) console.log(`${c.kind} ${c.path}`);
  },
});

const commitArgs = { pause: { type: "boolean", alias: "p", description: "Pause a running container while committing (default true)" } } as const;

export const commit = defineCommand({
  meta: { name: "commit", description: "Create a new image from a container's changes" },
  args: { ...commitArgs, container: { type: "positional", required: true }, image: { type: "positional" } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("commit", rawArgs, commitArgs, 1, "CONTAINER [REPOSITORY[:TAG]]");
    const s = findLive(positionals[0]!);
    const image = imageOf(s, "commit");
    // Like docker, freeze a running container so the layer is taken at one instant.
    const freeze = s.status === "running" && options.pause !== false;
    const cgroup = openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup });
    if (freeze) cgroup.setFrozen(true);
    try {
      const id = await imageModules().fs.commitContainer(s.id, image, positionals[1], `mydocker commit ${s.name}`);
      const events = require("../events") as typeof import("../events");
      events.emit("container", "commit", events.containerActor(s, { imageID: id }));
      console.log(id);
    } finally {
      if (freeze) cgroup.setFrozen(false);
    }
  },
});

const exportArgs = { output: { type: "string", alias: "o", description: "Write to a file instead of stdout" } } as const;

export const exportFs = defineCommand({
  meta: { name: "export", description: "Export a container's filesystem as a tar archive" },
  args: { ...exportArgs, container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("export", rawArgs, exportArgs, 1, "CONTAINER");
    const s = findLive(positionals[0]!);
    const out = options.output as string | undefined;
    if (out === undefined && process.stdout.isTTY) throw new UsageError("refusing to write a tar to a terminal: use -o FILE or redirect stdout");
    const { tar } = imageModules();
    const { breathe, onInterrupt } = require("../image/interrupt") as typeof import("../image/interrupt");
    const { prepareRootfs, releaseRootfs } = require("../containers/rootfs") as typeof import("../containers/rootfs");
    const running = s.status === "running" || s.status === "paused";
    // a stopped container's overlay is not mounted: mount it for the copy, and unmount it after,
    // also when a signal ends the export; a partial -o file is never left under its name
    const root = prepareRootfs(s);
    const partial = out === undefined ? undefined : `${out}.tmp-${process.pid}`;
    const release = onInterrupt(() => {
      if (partial) rmSync(partial, { force: true });
      if (!running) releaseRootfs(s);
    });
    let fd = partial === undefined ? 1 : openSync(partial, "w", 0o644);
    try {
      await writeAll(fd, tar.tarDirectory(root), breathe);
      if (partial) {
        closeSync(fd);
        fd = -1;
        renameSync(partial, out!);
      }
    } finally {
      if (partial) {
        if (fd !== -1) closeSync(fd);
        if (existsSync(partial)) rmSync(partial, { force: true });
      }
      if (!running) releaseRootfs(s);
      release();
    }
  },
});

/**
 * Writes the chunks to `fd` in full, gathering small ones (headers, padding, small files) into
 * one write.
 */
async function writeAll(fd: number, chunks: Iterable<Uint8Array>, breathe: () => Promise<void>): Promise<void> {
  const pending = Buffer.allocUnsafe(256 * 1024);
  let used = 0;
  const write = (b: Uint8Array) => {
    for (let off = 0; off < b.length; ) {
      try {
        off += writeSync(fd, b, off, b.length - off); // a pipe may take less than asked
      } catch (e) {
        // stdout can be a non-blocking pipe (Bun makes it one): wait for the reader, then go on
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
        Bun.sleepSync(1);
      }
    }
  };
  for (const c of chunks) {
    await breathe(); // lets SIGINT/SIGTERM handlers run (src/image/interrupt.ts)
    if (used + c.length > pending.length) {
      write(pending.subarray(0, used));
      used = 0;
    }
    if (c.length >= pending.length / 2) write(c); // big content chunks go straight out
    else {
      pending.set(c, used);
      used += c.length;
    }
  }
  write(pending.subarray(0, used));
}
