// `mydocker cp [-a] [-L] CONTAINER:SRC DEST|-` and `mydocker cp [-a] [-L] SRC|- CONTAINER:DEST`,
// with docker's rules (docker cp --help):
// - SRC a file: DEST missing -> saved as DEST (DEST ending in "/" must exist); DEST a directory ->
//   copied into it; DEST a file -> overwritten.
// - SRC a directory: DEST missing -> created with SRC's contents; DEST a directory -> SRC copied
//   into it, or with SRC ending in "/." its contents; DEST a file -> an error.
// - `-` as SRC: a tar stream on stdin, unpacked into the directory DEST; as DEST: SRC as a tar on stdout.
// - -a keeps the archive's uid/gid (else files belong to root, the container's or the caller's);
//   -L follows a symlink that SRC itself is.
// Every path inside the container is resolved inside its root (copy-tar.ts).
import { closeSync, writeSync } from "node:fs";
import { posix, resolve } from "node:path";
import { defineCommand } from "citty";
import { FlagError, UsageError } from "../cli/argv";
import { findLive } from "../state/live";
import type { ContainerState } from "../state/store";
import { components, followLinksInRoot, openRoot, resolveInRoot, RootedUnpacker, statInRoot, tarOfEntry } from "../containers/copy-tar";
import { TarParser } from "../image/tar";
import { parseCommand } from "./args";

const cpArgs = {
  archive: { type: "boolean", alias: "a", description: "Archive mode (copy all uid/gid information)" },
  "follow-link": { type: "boolean", alias: "L", description: "Always follow symbol link in SRC_PATH" },
  quiet: { type: "boolean", alias: "q", description: "Suppress progress output (there is none)" },
} as const;

const USAGE = "CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH";

/** `name:path` names a container's path (docker: a local path with a colon needs a `./` or `/`). */
function splitRef(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith("/") || arg.startsWith(".")) return undefined;
  const i = arg.indexOf(":");
  return i > 0 ? { container: arg.slice(0, i), path: arg.slice(i + 1) } : undefined;
}

export default defineCommand({
  meta: { name: "cp", description: "Copy files/folders between a container and the local filesystem" },
  args: { ...cpArgs, src: { type: "positional", required: true }, dest: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("cp", rawArgs, cpArgs, 2, USAGE);
    if (positionals.length !== 2) throw new FlagError(`"cp" requires exactly 2 arguments: ${USAGE}`);
    const [src, dest] = positionals as [string, string];
    const from = splitRef(src);
    const to = splitRef(dest);
    if (from && to) throw new UsageError("copying between containers is not supported");
    if (!from && !to) throw new UsageError("must specify at least one container source");
    const opts = { archive: options.archive === true, follow: options["follow-link"] === true };
    if (from) await withRoot(findLive(from.container), (rootFd) => copyOut(rootFd, from.path, dest, opts));
    else await withRoot(findLive(to!.container), (rootFd) => copyIn(rootFd, src, to!.path, opts));
  },
});

interface CopyOptions {
  archive: boolean;
  follow: boolean;
}

/** Runs `fn` with an fd of the container's root: its mounted overlay, mounted for the copy when it is stopped. */
async function withRoot(s: ContainerState, fn: (rootFd: number) => Promise<void>): Promise<void> {
  if (s.status === "dead") throw new UsageError(`container ${s.name || s.id.slice(0, 12)} has a broken record: ${s.error}`);
  const { prepareRootfs, releaseRootfs } = require("../containers/rootfs") as typeof import("../containers/rootfs");
  const { onInterrupt } = require("../image/interrupt") as typeof import("../image/interrupt");
  const running = () => s.status === "running" || s.status === "paused";
  const root = prepareRootfs(s);
  const release = onInterrupt(() => {
    if (!running()) releaseRootfs(s);
  });
  const rootFd = openRoot(root);
  try {
    await fn(rootFd);
  } finally {
    closeSync(rootFd);
    if (!running()) releaseRootfs(s);
    release();
  }
}

/** docker's rules for SRC: "/." means its contents; a trailing "/" (or -L) follows a symlink SRC is. */
function sourceShape(path: string, follow: boolean) {
  const contentsOnly = /(^|\/)\.$/.test(path);
  const follows = follow || contentsOnly || path.endsWith("/");
  const parts = components(path);
  return { contentsOnly, follows, mustBeDir: path.endsWith("/") || contentsOnly, base: parts[parts.length - 1] ?? "" };
}

const notFound = (where: string, path: string) => new UsageError(`Could not find the file ${path} in ${where}`);

async function copyOut(rootFd: number, srcPath: string, dest: string, opts: CopyOptions): Promise<void> {
  const shape = sourceShape(srcPath, opts.follow);
  const src = resolveOrExplain(() => resolveInRoot(rootFd, posix.resolve("/", srcPath), shape.follows), "container", srcPath);
  try {
    const isDir = require("node:fs").fstatSync(src).isDirectory() as boolean;
    if (shape.mustBeDir && !isDir) throw new UsageError(`cannot copy ${srcPath}: not a directory`);
    // the container's `/` (or a path ending in ".."): its contents, as with "/."
    const whole = shape.base === "" || shape.base === "..";
    if (dest === "-") {
      if (process.stdout.isTTY) throw new UsageError("refusing to write a tar to a terminal: redirect stdout");
      return await writeStream(tarOfEntry(src, shape.contentsOnly || whole ? undefined : shape.base), 1);
    }
    const host = openRoot("/");
    try {
      const { dir, top } = placement(host, resolve(dest), dest.endsWith("/"), isDir, shape.contentsOnly || whole, shape.base);
      unpack(tarOfEntry(src, top), host, dir, { keepOwners: opts.archive, owner: { uid: process.getuid!(), gid: process.getgid!() } });
    } finally {
      closeSync(host);
    }
  } finally {
    closeSync(src);
  }
}

async function copyIn(rootFd: number, src: string, destPath: string, opts: CopyOptions): Promise<void> {
  const dest = posix.resolve("/", destPath);
  if (src === "-") {
    const st = statInRoot(rootFd, dest, true);
    if (!st) throw notFound("container", destPath);
    if (!st.isDirectory()) throw new UsageError(`destination "${destPath}" must be a directory`);
    const unpacker = new RootedUnpacker(rootFd, dest, { keepOwners: opts.archive });
    const parser = new TarParser(unpacker);
    try {
      for await (const chunk of Bun.stdin.stream()) parser.write(chunk);
      parser.end();
    } finally {
      unpacker.close();
    }
    return;
  }
  const shape = sourceShape(src, opts.follow);
  const host = openRoot("/");
  try {
    const fd = resolveOrExplain(() => resolveInRoot(host, resolve(src), shape.follows), "the local filesystem", src);
    try {
      const isDir = require("node:fs").fstatSync(fd).isDirectory() as boolean;
      if (shape.mustBeDir && !isDir) throw new UsageError(`cannot copy ${src}: not a directory`);
      const { dir, top } = placement(rootFd, dest, destPath.endsWith("/"), isDir, shape.contentsOnly, shape.base || posix.basename(resolve(src)));
      unpack(tarOfEntry(fd, top), rootFd, dir, { keepOwners: opts.archive });
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(host);
  }
}

/** Where the copy lands: the directory to unpack into and the top entry's name (none: contents only). */
function placement(rootFd: number, given: string, trailingSlash: boolean, srcIsDir: boolean, contentsOnly: boolean, srcBase: string) {
  const st = statInRoot(rootFd, given, true);
  if (st?.isDirectory()) return { dir: given, top: srcIsDir && contentsOnly ? undefined : srcBase };
  // a symlink there is followed inside the root, as docker does, even when it dangles: its
  // target is written, never the link
  const dest = followLinksInRoot(rootFd, given);
  if (st) {
    if (srcIsDir) throw new UsageError(`cannot copy a directory to a file: ${given}`);
    return { dir: posix.dirname(dest), top: posix.basename(dest) };
  }
  if (trailingSlash && !srcIsDir) throw new UsageError(`destination directory ${dest} does not exist`);
  const parent = statInRoot(rootFd, posix.dirname(dest), true);
  if (!parent?.isDirectory()) throw new UsageError(`the parent directory of ${dest} does not exist`);
  return { dir: posix.dirname(dest), top: posix.basename(dest) };
}

function resolveOrExplain(open: () => number, where: string, path: string): number {
  try {
    return open();
  } catch (e) {
    if (["ENOENT", "ENOTDIR"].includes((e as { code?: string }).code ?? "")) throw notFound(where, path);
    throw e;
  }
}

/** Feeds a tar stream we made to an unpacker (both sides by fd). */
function unpack(chunks: Iterable<Uint8Array>, rootFd: number, dir: string, opts: ConstructorParameters<typeof RootedUnpacker>[2]): void {
  const unpacker = new RootedUnpacker(rootFd, dir, opts);
  const parser = new TarParser(unpacker);
  try {
    for (const c of chunks) parser.write(c);
    parser.end();
  } finally {
    unpacker.close();
  }
}

/** Writes the chunks to `fd` in full; a non-blocking pipe (EAGAIN) waits for its reader. */
async function writeStream(chunks: Iterable<Uint8Array>, fd: number): Promise<void> {
  const { breathe } = require("../image/interrupt") as typeof import("../image/interrupt");
  for (const c of chunks) {
    await breathe();
    for (let off = 0; off < c.length; ) {
      try {
        off += writeSync(fd, c, off, c.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
        await Bun.sleep(1);
      }
    }
  }
}
