// `mydocker run [OPTIONS] COMMAND [ARG...]`: builds an OCI config from docker-style flags and runs it.
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { splitArgs, UsageError, type OptionValues } from "../cli/argv";
import type { CgroupResources } from "../cgroups";
import { newContainerId, shortId } from "../ids";
import { buildSpec, type Spec } from "../spec";
import { parseCpus, parseCpuset, parseInteger, parseMemory } from "../units";
import { configureLog, log } from "../log";
import { containerLayerDir, dataRoot, defaultRootfs, runtimeRoot } from "../paths";
import { createVolumeSources, parseTmpfsSpec, parseVolumeSpec, volumeMount } from "../volumes";
import type { ImageRecord } from "../image/store";
import { containerDir, createContainerRecord, readState, removeContainerRecord, type ContainerState } from "../state/store";
import { faultEnv, faultPoint } from "../fault";
import { mark, renderTrace, startTrace, step, tracing } from "../trace";
import { bootId, processStartTime } from "../state/proc";
import { Attachment } from "../engine/attach";
import { getWindowSize, isatty } from "../../ffi/tty";
import { applySecurity } from "../security/defaults";
import { securityArgs, securityOptions } from "../security/options";
import type { Outcome } from "../containers/lifecycle";
import { CLEAN_ENV, selfCommand } from "../engine/self";
import { setBlocking } from "../../ffi/process";
import type { MonitorReport } from "./monitor";

export const runArgs = {
  detach: { type: "boolean", alias: "d", description: "Run in the background and print the container id" },
  name: { type: "string", description: "Name the container (default: a generated one)" },
  rm: { type: "boolean", description: "Remove the container when it exits" },
  interactive: { type: "boolean", alias: "i", description: "Keep STDIN attached" },
  tty: { type: "boolean", alias: "t", description: "Allocate a pseudo-terminal (from the container's own devpts)" },
  rootfs: { type: "string", description: "Root filesystem directory (default: the project's rootfs/ or $MYDOCKER_ROOTFS)" },
  hostname: { type: "string", alias: "h", description: "Container host name (default: the short id)" },
  env: { type: "string", alias: "e", valueHint: "KEY=VALUE...", description: "Set an environment variable (repeatable)" },
  workdir: { type: "string", alias: "w", description: "Working directory inside the container" },
  memory: { type: "string", alias: "m", valueHint: "100m", description: "Memory limit (b, k, m, g)" },
  "cpu-shares": { type: "string", alias: "cpushare", description: "CPU shares (relative weight)" },
  cpus: { type: "string", valueHint: "1.5", description: "Number of CPUs (CFS quota)" },
  "cpuset-cpus": { type: "string", alias: "cpuset", valueHint: "0-1", description: "CPUs in which to allow execution" },
  "pids-limit": { type: "string", description: "Maximum number of processes (-1: unlimited)" },
  volume: { type: "string", alias: "v", valueHint: "SRC:DST[:ro]...", description: "Bind a host path or a named volume (repeatable)" },
  tmpfs: { type: "string", valueHint: "/path[:opts]...", description: "Mount a tmpfs (repeatable)" },
  "read-only": { type: "boolean", description: "Mount the container's root read-only" },
  "cgroup-parent": { type: "string", description: "Parent cgroup (default: <own cgroup>/mydocker)" },
  "log-level": { type: "string", valueHint: "info", description: "error, warn, info, debug" },
  "log-format": { type: "string", valueHint: "text", description: "text or json" },
  ...securityArgs,
  trace: { type: "string", valueHint: "[=json]", description: "After the container ends, print every kernel step of its start with its time (stderr; =json for tools)" },
} as const;

export default defineCommand({
  meta: { name: "run", description: "Run a command in a new container" },
  args: { ...runArgs, command: { type: "positional", description: "COMMAND [ARG...]", required: true } },
  async run({ rawArgs }) {
    const { options, rest } = splitArgs(rawArgs, runArgs);
    if (options.trace !== undefined) {
      if (options.trace !== "" && options.trace !== "json" && options.trace !== "table") throw new UsageError(`invalid --trace "${options.trace}": table or json`);
      startTrace("parent");
      mark("Bun start-up and the command line", performance.timeOrigin);
    }
    configureLog({ level: options["log-level"] as string, format: options["log-format"] as string });
    if (rest.length === 0) throw new UsageError(`"run" requires at least 1 argument: [IMAGE] COMMAND`);
    if (options.detach && options.tty) throw new UsageError("-d and -t cannot be combined: a detached container has no terminal to attach");
    if (process.getuid?.() !== 0) throw new UsageError("mydocker run must be run as root");
    const id = newContainerId();
    // From resolving the image to recording the container that uses it, hold the image store's
    // lock: `rmi` checks for users under it, so it never deletes an image a start has chosen.
    const { root, spec, volumes, state } = withImageLock(couldBeImage(options, rest[0]!), () => reserveContainer(id, options, rest));
    // The name is ours now: only from here on may anything be made on the host for it.
    faultPoint("run:after-record");
    try {
      createVolumeSources(volumes);
    } catch (e) {
      removeContainerRecord(id);
      throw e;
    }
    const outcome = options.detach ? await startDetached(state) : await runInForeground(state, spec, options.interactive === true);
    if (outcome.error) log().error(outcome.error);
    if (outcome.oomKilled) log().error(`container ${shortId(id)} was OOM-killed (memory limit ${options.memory})`);
    if (tracing()) process.stderr.write(renderTrace(options.trace === "json" ? "json" : "table"));
    process.exitCode = outcome.exitCode;
  },
});

/** The image store's lock around `fn` when the first word may name an image; nothing otherwise. */
function withImageLock<T>(needed: boolean, fn: () => T): T {
  if (!needed) return fn();
  const { withLock } = require("../image/layout") as typeof import("../image/layout");
  return withLock(fn);
}

const couldBeImage = (o: OptionValues, word: string) => o.rootfs === undefined && !word.startsWith("/") && !word.startsWith(".") && existsSync(dataRoot());

/** Chooses the root, builds the config and records the container (the name is reserved). */
function reserveContainer(id: string, options: OptionValues, rest: string[]) {
  const root = step("choose the root (an image, or a rootfs directory)", () => chooseRoot(id, options, rest));
  const spec = step("docker's flags and defaults -> the OCI config (seccomp profile included)", () => specFromOptions(id, options, root));
  const volumes = ((options.volume as string[] | undefined) ?? []).map(parseVolumeSpec);
  const state = step("record the container (name reserved, config.json, state.json)", () => createContainerRecord(
    {
      id,
      name: options.name as string | undefined,
      status: "created",
      oomKilled: false,
      created: new Date().toISOString(),
      command: spec.process.args,
      image: root.ref ?? root.lower ?? spec.root.path,
      imageId: root.image?.id,
      lowerDir: root.lower,
      rootfs: spec.root.path,
      detached: options.detach === true,
      autoRemove: options.rm === true,
      cgroup: { parent: options["cgroup-parent"] as string | undefined, selfCgroup: readFileSync("/proc/self/cgroup", "utf8") },
      bootId: bootId(),
      // until a monitor takes over (-d), this process answers for the container
      monitorPid: process.pid,
      monitorStartTime: processStartTime(process.pid),
    },
    spec,
  ));
  (require("../events") as typeof import("../events")).emit("container", "create", { id: state.id, attributes: { image: state.image, name: state.name } });
  return { root, spec, volumes, state };
}

async function runInForeground(state: ContainerState, spec: Spec, interactive: boolean): Promise<Outcome> {
  const { superviseContainer } = await import("../containers/supervise");
  const tty = spec.process.terminal === true;
  if (tty && interactive && !isatty(0)) log().warn("the input device is not a TTY");
  const attachment = new Attachment();
  try {
    return await superviseContainer(state, spec, {
      stdio: tty ? ["ignore", "ignore", "ignore"] : [interactive ? "inherit" : "ignore", "inherit", "inherit"],
      onRunning: (c) => attachment.connect(c.init, c.terminal, interactive),
    });
  } finally {
    await attachment.close();
  }
}

/**
 * `run -d`: a `mydocker monitor` process in its own session supervises the container; we wait
 * only until it reports that the command runs (or why it could not), then print the id.
 */
async function startDetached(state: ContainerState): Promise<Outcome> {
  // the monitor's own complaints, if it ever has any, go to monitor.log beside the container's
  const monitorLog = openSync(join(containerDir(state.id), "monitor.log"), "a", 0o600);
  const monitor = Bun.spawn(selfCommand("--root", runtimeRoot(), "--data-root", dataRoot(), "monitor", state.id), {
    stdio: ["ignore", "ignore", monitorLog, "pipe"],
    env: { ...CLEAN_ENV, ...faultEnv() },
    cwd: "/",
    detached: true,
  });
  closeSync(monitorLog);
  const reportFd = monitor.stdio[3] as unknown as number;
  setBlocking(reportFd);
  const report = readReport(reportFd);
  closeSync(reportFd);
  monitor.unref();
  if (!report) {
    // Nobody supervises the container: end it (its cgroup holds whatever started) rather than
    // report a failure while it runs on.
    const { finishOrphan } = await import("../containers/lifecycle");
    const now = readState(state.id);
    if (now) finishOrphan(now);
    return { exitCode: 125, oomKilled: false, error: "the container's monitor died before it reported; the container was stopped" };
  }
  if (!report.ok) return { exitCode: report.code, oomKilled: false, error: report.error };
  console.log(state.id);
  return { exitCode: 0, oomKilled: false };
}

function readReport(fd: number): MonitorReport | undefined {
  const buf = Buffer.alloc(64 * 1024);
  let text = "";
  for (;;) {
    const n = readSync(fd, buf);
    if (n === 0) break;
    text += buf.subarray(0, n).toString();
    if (text.endsWith("\n")) break;
  }
  return text ? (JSON.parse(text) as MonitorReport) : undefined;
}

/** What the container runs on: an image (overlay of its layers) or a plain root directory. */
interface Root {
  rootfs: string;
  command: string[];
  image?: ImageRecord;
  ref?: string;
  /** the default rootfs, under the container's own writable layer */
  lower?: string;
}

/**
 * `run [OPTIONS] IMAGE [COMMAND]` or, without an image, `run [OPTIONS] COMMAND` on a plain root
 * (--rootfs, $MYDOCKER_ROOTFS or the project's rootfs/). The first word is an image when it names
 * one in the store (name[:tag], or an id of 12+ hex digits); a path never does.
 */
function chooseRoot(id: string, o: OptionValues, words: string[]): Root {
  const [first, ...rest] = words as [string, ...string[]];
  const image = o.rootfs === undefined ? findImage(first) : undefined;
  if (image) {
    const { Entrypoint = [], Cmd = [] } = image.config;
    const command = [...Entrypoint, ...(rest.length ? rest : Cmd)];
    if (command.length === 0) throw new UsageError(`no command: image ${first} has no Cmd or Entrypoint; give one after the image`);
    return { rootfs: `${containerLayerDir(id)}/merged`, command, image, ref: first };
  }
  if (o.rootfs === "") throw new UsageError("invalid --rootfs: empty path");
  const rootfs = resolve((o.rootfs as string) ?? defaultRootfs());
  if (!existsSync(rootfs)) throw new UsageError(`rootfs ${rootfs} does not exist`);
  if (!statSync(rootfs).isDirectory()) throw new UsageError(`rootfs ${rootfs} is not a directory`);
  if (realpathSync(rootfs) === "/") throw new UsageError("invalid --rootfs /: the host's own root cannot be a container's root");
  if (o.rootfs !== undefined) return { rootfs, command: words }; // used in place, as runc uses a bundle's root
  // The default rootfs is shared by every container (and is what `make rootfs` imports as
  // busybox:latest): it stays pristine under a writable layer of the container's own.
  return { rootfs: `${containerLayerDir(id)}/merged`, command: words, lower: realpathSync(rootfs) };
}

function findImage(word: string): ImageRecord | undefined {
  if (word.startsWith("/") || word.startsWith(".")) return undefined;
  if (/^(sha256:)?[0-9a-f]{1,11}$/.test(word)) return undefined; // too short to be an id: a command such as `dd`
  if (!existsSync(`${dataRoot()}/repositories.json`) && !existsSync(`${dataRoot()}/images`)) return undefined;
  const { resolveImage } = require("../image/store") as typeof import("../image/store");
  return resolveImage(word);
}

/** Docker flags -> OCI config. Throws a one-line error on bad input; touches nothing. */
export function specFromOptions(id: string, o: OptionValues, root: Root): Spec {
  const { rootfs, command, image } = root;
  const workdir = (o.workdir as string | undefined) ?? image?.config.WorkingDir ?? undefined;
  if (workdir !== undefined && !workdir.startsWith("/")) throw new UsageError(`invalid --workdir "${workdir}": must be an absolute path`);
  const hostname = (o.hostname as string | undefined) ?? shortId(id);
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(hostname)) throw new UsageError(`invalid --hostname "${hostname}"`);
  const volumes = ((o.volume as string[] | undefined) ?? []).map(parseVolumeSpec);
  const tmpfs = ((o.tmpfs as string[] | undefined) ?? []).map(parseTmpfsSpec);
  const resources = resourcesFromOptions(o);
  const env = [...(image?.config.Env ?? []), ...resolveEnv((o.env as string[]) ?? [])];
  const spec = buildSpec({
    args: command,
    rootfs,
    readonly: o["read-only"] === true,
    hostname,
    env,
    cwd: workdir,
    terminal: o.tty === true,
    resources,
    mounts: [...volumes.map(volumeMount), ...tmpfs],
  });
  const security = securityOptions(o, spec.linux.namespaces.map((n) => n.type));
  security.user ??= image?.config.User; // the image's USER, unless --user says otherwise
  applySecurity(spec, security);
  if (spec.process.terminal) spec.process.consoleSize = callerWindowSize();
  return spec;
}

/** The caller's terminal size (stdout, else stdin), so that the container's starts with it. */
export function callerWindowSize(): { height: number; width: number } | undefined {
  for (const fd of [1, 0]) {
    if (!isatty(fd)) continue;
    try {
      const { rows, cols } = getWindowSize(fd);
      if (rows > 0 && cols > 0) return { height: rows, width: cols };
    } catch {}
  }
  return undefined;
}

function resourcesFromOptions(o: OptionValues): CgroupResources {
  const r: CgroupResources = {};
  if (o.memory !== undefined) r.memory = { limit: parseMemory(o.memory as string) };
  const cpu: NonNullable<CgroupResources["cpu"]> = {};
  if (o["cpu-shares"] !== undefined) cpu.shares = parseInteger("--cpu-shares", o["cpu-shares"] as string, 2, 262144);
  if (o.cpus !== undefined) Object.assign(cpu, parseCpus(o.cpus as string));
  if (o["cpuset-cpus"] !== undefined) cpu.cpus = parseCpuset(o["cpuset-cpus"] as string);
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (o["pids-limit"] !== undefined) {
    const limit = parseInteger("--pids-limit", o["pids-limit"] as string, -1);
    if (limit > 0) r.pids = { limit };
  }
  return r;
}

/** `-e K=V` sets; `-e K` copies K from the caller's environment when set (docker's rule). */
export function resolveEnv(entries: string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.startsWith("=") || e === "") throw new UsageError(`invalid --env "${e}": empty variable name`);
    if (e.includes("=")) out.push(e);
    else if (process.env[e] !== undefined) out.push(`${e}=${process.env[e]}`);
  }
  return out;
}
