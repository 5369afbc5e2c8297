// `mydocker run [OPTIONS] [IMAGE] COMMAND [ARG...]`: builds an OCI config from docker-style flags and
// runs it. Its halves are shared: reserveContainer (also `create`), and startDetached /
// runInForeground, which start a created container (also `start`).
import { existsSync, lstatSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { FlagError, splitArgs, UsageError, type OptionValues } from "../cli/argv";
import { attachedStreams, checkCidfile, checkPlatform, checkPull, containerArgs, parsePlatform, parseStopTimeout, signalName, type Streams } from "../cli/container-flags";
import { envFromFlags, labelsFromFlags, resolveEnv } from "../cli/kv-file";
import { withInit } from "./docker-init";
import type { CgroupResources } from "../cgroups";
import { newContainerId, shortId } from "../ids";
import { buildSpec, type Spec } from "../spec";
import { parseCpus, parseCpuset, parseInteger, parseMemory } from "../units";
import { configureLog, log } from "../log";
import { containerLayerDir, dataRoot, defaultRootfs } from "../paths";
import { createVolumeSources, parseTmpfsSpec, parseVolumeSpec, volumeMount } from "../volumes";
import type { ImageRecord, OciImageConfig } from "../image/store";
import { normalizeReference } from "../image/reference";
import { createContainerRecord, logPath, NoSuchContainer, readState, removeContainerRecord, updateState, type ContainerState } from "../state/store";
import { LogWriter } from "../containers/logs";
import { abandonEarlyInit, spawnInitEarly, type EarlyInit, type StartedContainer, type StdioPlan } from "../engine/container";
import { faultPoint } from "../fault";
import { mark, renderTrace, startTrace, step, tracing } from "../trace";
import { bootId, processStartTime } from "../state/proc";
import { Attachment } from "../engine/attach";
import { isatty } from "../../ffi/tty";
import { callerWindowSize } from "../cli/window-size";
import { applySecurity } from "../security/defaults";
import { securityArgs, securityOptions } from "../security/options";
import type { Outcome } from "../containers/lifecycle";
import { detachedStdio } from "../engine/self";
import { monitorEarly, monitorNow, type EarlyMonitor } from "../containers/monitor-link";
import { networkArgs, networkRequest } from "../network/options";
import { networkFromOptions } from "../network/spec";
import { restartArgs, shouldRestart, supervisionExtras } from "../containers/restart";

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
  ...containerArgs,
  ...networkArgs,
  ...restartArgs,
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
    if (options.detach && options.attach !== undefined) throw new FlagError("conflicting options: -a and -d");
    if (options.detach && options["sig-proxy"] === false) throw new FlagError("conflicting options: --sig-proxy=false and -d");
    const streams = attachedStreams((options.attach as string[] | undefined) ?? [], options.interactive === true);
    if (process.getuid?.() !== 0) throw new UsageError("mydocker run must be run as root");
    // Whoever starts the container (this process in the foreground, a monitor with -d) may start
    // its Bun right now, while we read the flags and write the record.
    const id = newContainerId();
    const early = options.detach ? undefined : spawnInitEarly(foregroundStdio(options.tty === true, streams), onBridge(options));
    const monitor = options.detach ? monitorEarly(id, { stdio: detachedStdio(options.tty === true, options.interactive === true), bridge: onBridge(options) }) : undefined;
    let outcome: Outcome;
    try {
      const { spec, state } = reserveContainer(id, options, rest);
      // docker prints the id when neither output stream is attached (`-a stdin`)
      if (!options.detach && !streams.stdout && !streams.stderr) console.log(id);
      // the record names this process as its starter already (recordContainer): no claim to write
      outcome = options.detach
        ? await startDetached(state, true, true, monitor)
        : await runInForeground(state, spec, options.interactive === true, { streams, sigProxy: options["sig-proxy"] !== false, claimed: true, early });
    } finally {
      abandonEarlyInit(early);
      monitor?.abandon();
    }
    if (outcome.error) log().error(outcome.error);
    else if (!options.detach) handOverRestarts(id, outcome.exitCode);
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

/**
 * `run`'s and `create`'s first half: chooses the root, builds the config, records the container
 * (status "created", the name reserved) and makes its named volumes. Nothing runs yet; a failure
 * leaves no record behind.
 */
export function reserveContainer(id: string, options: OptionValues, rest: string[], mode: "run" | "create" = "run"): Reserved {
  if (rest.length === 0) throw new FlagError(`"${mode}" requires at least 1 argument: [IMAGE] COMMAND`);
  checkPull(options.pull as string | undefined);
  const cidfile = options.cidfile as string | undefined;
  checkCidfile(cidfile);
  // From resolving the image to recording the container that uses it, hold the image store's
  // lock: `rmi` checks for users under it, so it never deletes an image a start has chosen.
  const reserved = withImageLock(couldBeImage(options, rest[0]!), () => recordContainer(id, options, rest, mode));
  // The name is ours now: only from here on may anything be made on the host for it.
  faultPoint("run:after-record");
  try {
    if (cidfile !== undefined) writeCidfile(cidfile, id);
    try {
      createVolumeSources(reserved.volumes);
    } catch (e) {
      if (cidfile !== undefined) rmSync(cidfile, { force: true });
      throw e;
    }
  } catch (e) {
    removeContainerRecord(id);
    throw e;
  }
  return reserved;
}

export interface Reserved {
  root: Root;
  spec: Spec;
  volumes: ReturnType<typeof parseVolumeSpec>[];
  state: ContainerState;
}

/** `--cidfile`: created exclusively (O_EXCL), so that two runs never share one. */
function writeCidfile(path: string, id: string): void {
  try {
    writeFileSync(path, id, { flag: "wx", mode: 0o644 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`container ID file found, make sure the other container isn't running or delete ${path}`);
    throw new UsageError(`failed to create the container ID file ${path}: ${code ?? (e as Error).message}`);
  }
}

function recordContainer(id: string, options: OptionValues, rest: string[], mode: "run" | "create"): Reserved {
  const root = step("choose the root (an image, or a rootfs directory)", () => chooseRoot(id, options, rest));
  const spec = step("docker's flags and defaults -> the OCI config (seccomp profile included)", () => specFromOptions(id, options, root));
  const extras = runExtras(options, root);
  const network = step("network flags -> its namespace, /etc/hosts, hostname, resolv.conf", () => networkFromOptions(id, options, spec, root.image?.config));
  const volumes = ((options.volume as string[] | undefined) ?? []).map(parseVolumeSpec);
  const state = step("record the container (name reserved, config.json, state.json)", () => createContainerRecord(
    {
      id,
      name: options.name as string | undefined,
      status: "created",
      oomKilled: false,
      created: new Date().toISOString(),
      command: root.command,
      image: root.ref ?? root.lower ?? spec.root.path,
      imageId: root.image?.id,
      lowerDir: root.lower,
      rootfs: spec.root.path,
      detached: options.detach === true,
      autoRemove: options.rm === true,
      cgroup: { parent: options["cgroup-parent"] as string | undefined, selfCgroup: readFileSync("/proc/self/cgroup", "utf8") },
      bootId: bootId(),
      // run: until a monitor takes over (-d), this process answers for the container; create:
      // nobody does until a `start` claims it (see claimStart)
      ...(mode === "run" ? { monitorPid: process.pid, monitorStartTime: processStartTime(process.pid) } : {}),
      ...extras,
      network,
    },
    spec,
  ));
  const events = require("../events") as typeof import("../events");
  events.emit("container", "create", events.containerActor(state));
  return { root, spec, volumes, state };
}

/**
 * Makes this process the one that starts the created container `state` (its supervisor until a
 * monitor takes over). Refused when it is no longer "created", or when another live process is
 * already starting it (two `start`s at once). `detached`: whether its output goes to container.log
 * (a monitor supervises it) or to our stdio. Returns the state as recorded.
 */
export function claimStart(state: ContainerState, detached: boolean): ContainerState {
  const { monitorAlive } = require("../state/live") as typeof import("../state/live");
  let refusal: string | undefined;
  const claimed = updateState(state.id, (now) => {
    if (now.status !== "created") refusal = `container ${now.name} is ${now.status}: only a created container can be started`;
    else if (now.monitorPid !== undefined && now.monitorPid !== process.pid && monitorAlive(now)) refusal = `container ${now.name} is already being started`;
    // its cgroup goes under the starter's (as a `run` records it): `create` may have run elsewhere
    return refusal ? {} : { monitorPid: process.pid, monitorStartTime: processStartTime(process.pid), detached, cgroup: { ...now.cgroup, selfCgroup: readFileSync("/proc/self/cgroup", "utf8") } };
  });
  if (!claimed) throw new NoSuchContainer(state.name);
  if (refusal) throw new UsageError(refusal);
  return claimed;
}

export interface ForegroundOptions {
  /** which of our streams are connected (`-a`; default: stdin with -i, stdout, stderr) */
  streams?: Streams;
  /** pass the signals we receive to the container (`--sig-proxy`, default true) */
  sigProxy?: boolean;
  /** this process made the record as its starter (`run`): it is claimed already */
  claimed?: boolean;
  /** the init `run` spawned ahead */
  early?: EarlyInit;
}

/** A foreground container's stdio: a terminal of its own (-t), else our stdin where attached, and pipes to us. */
const foregroundStdio = (tty: boolean, streams: Streams): StdioPlan => (tty ? ["ignore", "ignore", "ignore"] : [streams.stdin ? "inherit" : "ignore", "pipe", "pipe"]);

/** Whether the flags put the container on a bridge network (its init is then born in a network namespace of its own). */
function onBridge(options: OptionValues): boolean {
  try {
    return networkRequest(options, (ref) => ref).mode === "bridge";
  } catch {
    return false; // a bad --network: the real parse says so, and the early init is not used
  }
}

/**
 * Starts a created container and supervises it from this process, attached to our stdio
 * (`run` without -d; `start -a`). Resolves once it has exited and its exit is recorded.
 */
export async function runInForeground(state: ContainerState, spec: Spec, interactive: boolean, opts: ForegroundOptions = {}): Promise<Outcome> {
  const { superviseContainer } = await import("../containers/supervise");
  if (!opts.claimed) state = claimStart(state, false);
  const tty = spec.process.terminal === true;
  if (tty && interactive && !isatty(0)) log().warn("the input device is not a TTY");
  const streams = opts.streams ?? { stdin: interactive, stdout: true, stderr: true };
  const attachment = new Attachment();
  // --sig-proxy=false: signals are still caught (this process supervises the container and must
  // outlive it) but go nowhere; `mydocker kill`/`stop` reach the container.
  const ignoreSignals = { kill: () => {} };
  // with -t: what its terminal shows goes into container.log too, as stdout (docker's json-file)
  let terminalLog: { writer: LogWriter; lines: ReturnType<LogWriter["lines"]> } | undefined;
  try {
    return await superviseContainer(state, spec, {
      // its output through us (docker: a pipe, never our terminal), into container.log as well
      stdio: foregroundStdio(tty, streams),
      early: opts.early,
      onRunning: (c) => {
        if (!tty) {
          attachment.connect(opts.sigProxy === false ? ignoreSignals : c.init, c.terminal, interactive);
          return logAndShow(c, state, streams);
        }
        const writer = new LogWriter(logPath(state.id), state.logRotation);
        terminalLog = { writer, lines: writer.lines("stdout") };
        attachment.connect(c.init, c.terminal, interactive, (chunk) => terminalLog!.lines.push(chunk));
      },
    });
  } finally {
    await attachment.close();
    terminalLog?.lines.end();
    terminalLog?.writer.close();
  }
}

/**
 * A foreground container's output: kept in its log (as a detached one's, so that `logs` works
 * after `run` and `start -a`) and written to our stdout/stderr where they are attached.
 */
async function logAndShow(c: StartedContainer, state: ContainerState, streams: Streams): Promise<void> {
  const log = new LogWriter(logPath(state.id), state.logRotation);
  const shown = { stdout: streams.stdout ? 1 : undefined, stderr: streams.stderr ? 2 : undefined };
  try {
    await log.pump(c.init.stdout, c.init.stderr, (stream, chunk) => {
      const fd = shown[stream];
      if (fd !== undefined && !writeAll(fd, chunk)) shown[stream] = undefined;
    });
  } finally {
    log.close();
  }
}

/** All of `data` to fd (a non-blocking pipe may take less, or be full: EAGAIN); false once its reader is gone. */
function writeAll(fd: number, data: Uint8Array): boolean {
  for (let off = 0; off < data.length; ) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" && code !== "EINTR") return false;
      Bun.sleepSync(1);
    }
  }
  return true;
}

/**
 * `run -d` (and `start` without -a): a `mydocker monitor` process in its own session supervises
 * the created container; we wait only until it reports that the command runs (or why it could
 * not), then print the id unless `printId` is false.
 */
export async function startDetached(state: ContainerState, printId = true, claimed = false, early?: EarlyMonitor): Promise<Outcome> {
  if (!claimed) state = claimStart(state, true);
  const report = early ? early.go() : monitorNow(state.id);
  if (!report) {
    // Nobody supervises the container: end it (its cgroup holds whatever started) rather than
    // report a failure while it runs on.
    const { finishOrphan } = await import("../containers/lifecycle");
    const now = readState(state.id);
    if (now) finishOrphan(now, { evenIfSupervised: true });
    return { exitCode: 125, oomKilled: false, error: "the container's monitor died before it reported; the container was stopped" };
  }
  if (!report.ok) return { exitCode: report.code, oomKilled: false, error: report.error };
  if (printId) console.log(state.id);
  return { exitCode: 0, oomKilled: false };
}

/**
 * After a foreground run (`run` without -d, `start -a`) ended with `exitCode`: when its restart
 * policy starts it again, a monitor takes over in the background from the backoff on (docker: the
 * client returns with the first run's status while the container goes on restarting).
 */
export function handOverRestarts(id: string, exitCode: number): void {
  const now = readState(id);
  if (!now?.restartPolicy || !shouldRestart(now, exitCode)) return;
  const report = monitorNow(id, exitCode);
  if (!report?.ok) log().error(`container ${shortId(id)} will not be restarted: ${report && !report.ok ? report.error : "its monitor died before it reported"}`);
}

/** What the container runs on: an image (overlay of its layers) or a plain root directory. */
export interface Root {
  rootfs: string;
  /** what the user's command is (ENTRYPOINT + CMD as docker merges them), without --init's tini */
  command: string[];
  image?: ImageRecord;
  /** the image's OCI config (platform, labels, stop signal) */
  imageConfig?: OciImageConfig;
  ref?: string;
  /** the default rootfs, under the container's own writable layer */
  lower?: string;
}

/**
 * `run [OPTIONS] IMAGE [COMMAND]` or, without an image, `run [OPTIONS] COMMAND` on a plain root
 * (--rootfs, $MYDOCKER_ROOTFS or the project's rootfs/). The first word is an image when it names
 * one in the store (name[:tag], or an id of 12+ hex digits); a path never does. On a plain root
 * --entrypoint goes in front of the words.
 */
function chooseRoot(id: string, o: OptionValues, words: string[]): Root {
  const [first, ...rest] = words as [string, ...string[]];
  const entrypoint = o.entrypoint as string | undefined;
  const ownEntrypoint = entrypoint === undefined ? undefined : entrypoint === "" ? [] : [entrypoint];
  const platform = o.platform !== undefined ? parsePlatform(o.platform as string) : undefined;
  const image = o.rootfs === undefined ? findImage(first) : undefined;
  if (image) {
    const imageConfig = readImageConfig(image);
    if (platform) checkPlatform(platform, { os: imageConfig.os ?? "", architecture: imageConfig.architecture ?? "", variant: imageConfig.variant }, `image with reference ${first} was found but`);
    // docker's merge: --entrypoint (even "") replaces the image's ENTRYPOINT and drops its CMD
    const { Entrypoint = [], Cmd = [] } = image.config;
    const command = [...(ownEntrypoint ?? Entrypoint), ...(rest.length || ownEntrypoint ? rest : Cmd)];
    if (command.length === 0) throw new UsageError(`no command: image ${first} has no Cmd or Entrypoint; give one after the image`);
    return { rootfs: `${containerLayerDir(id)}/merged`, command, image, imageConfig, ref: first };
  }
  if (platform) checkPlatform(platform, { os: "linux", architecture: hostArch() }, "the root filesystem (this host's platform)");
  if (o.rootfs === "") throw new UsageError("invalid --rootfs: empty path");
  const rootfs = resolve((o.rootfs as string) ?? defaultRootfs());
  if (!existsSync(rootfs)) throw new UsageError(`rootfs ${rootfs} does not exist`);
  if (!statSync(rootfs).isDirectory()) throw new UsageError(`rootfs ${rootfs} is not a directory`);
  if (realpathSync(rootfs) === "/") throw new UsageError("invalid --rootfs /: the host's own root cannot be a container's root");
  const command = [...(ownEntrypoint ?? []), ...words];
  if (o.rootfs !== undefined) return { rootfs, command }; // used in place, as runc uses a bundle's root
  if (!ownEntrypoint?.length) refuseMissingImage(first, rootfs, o);
  // The default rootfs is shared by every container (and is what `make rootfs` imports as
  // busybox:latest): it stays pristine under a writable layer of the container's own.
  return { rootfs: `${containerLayerDir(id)}/merged`, command, lower: realpathSync(rootfs) };
}

/** Where the default root's commands are looked for: docker's default PATH. */
const DEFAULT_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * `run alpine echo hi` with no image "alpine": docker's answer (`Unable to find image`, 125)
 * rather than "executable file not found" from inside the container — when the word is no path,
 * reads as an image reference, and is no command of the default root.
 */
function refuseMissingImage(word: string, rootfs: string, o: OptionValues): void {
  if (word.startsWith("/") || word.startsWith(".")) return;
  let reference: string;
  try {
    reference = normalizeReference(word);
  } catch {
    return; // no reference: the init says what is wrong with it as a command
  }
  const isCommand = !word.includes("/") && DEFAULT_PATH.some((dir) => {
    try {
      lstatSync(join(rootfs, dir, word));
      return true;
    } catch {
      return false;
    }
  });
  if (isCommand) return;
  const pulling = o.pull === "never" ? "" : " (there is no registry to pull from)";
  throw new UsageError(`Unable to find image '${reference}' locally${pulling}: load it with "mydocker load -i FILE" or "mydocker import TARBALL ${reference}"`);
}

function readImageConfig(image: ImageRecord): OciImageConfig {
  const { imageConfigBytes, parseImageConfig } = require("../image/store") as typeof import("../image/store");
  try {
    return parseImageConfig(imageConfigBytes(image.id)).oci;
  } catch {
    return {};
  }
}

/** This machine's architecture in OCI's words (amd64, arm64...). */
const hostArch = () => (require("../image/import") as typeof import("../image/import")).ociArch();

function findImage(word: string): ImageRecord | undefined {
  if (word.startsWith("/") || word.startsWith(".")) return undefined;
  if (/^(sha256:)?[0-9a-f]{1,11}$/.test(word)) return undefined; // too short to be an id: a command such as `dd`
  if (!existsSync(`${dataRoot()}/repositories.json`) && !existsSync(`${dataRoot()}/images`)) return undefined;
  const { resolveImage } = require("../image/store") as typeof import("../image/store");
  return resolveImage(word);
}

/** What the state records of the run/create flags, for inspect, ps and stop. */
function runExtras(o: OptionValues, root: Root): Partial<ContainerState> {
  const labels = { ...stringMap(root.imageConfig?.config?.Labels), ...labelsFromFlags(list(o, "label-file"), list(o, "label")) };
  const imageStopSignal = root.imageConfig?.config?.StopSignal;
  const stopSignal = o["stop-signal"] !== undefined ? signalName(o["stop-signal"] as string, "--stop-signal") : typeof imageStopSignal === "string" && imageStopSignal ? imageStopSignal : undefined;
  const extras: Partial<ContainerState> = { labels };
  if (o.entrypoint !== undefined) extras.entrypoint = o.entrypoint === "" ? [] : [o.entrypoint as string];
  if (stopSignal !== undefined) extras.stopSignal = stopSignal;
  if (o["stop-timeout"] !== undefined) extras.stopTimeout = parseStopTimeout(o["stop-timeout"] as string);
  if (o.init === true) extras.init = true;
  Object.assign(extras, supervisionExtras(o));
  return extras;
}

const list = (o: OptionValues, name: string) => (o[name] as string[] | undefined) ?? [];

const stringMap = (v: unknown): Record<string, string> =>
  typeof v === "object" && v !== null ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === "string")) : {};

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
  const env = [...(image?.config.Env ?? []), ...envFromFlags(list(o, "env-file"), list(o, "env"))];
  const init = o.init === true ? withInit(command) : undefined;
  const spec = buildSpec({
    args: init?.args ?? command,
    rootfs,
    readonly: o["read-only"] === true,
    hostname,
    env,
    cwd: workdir,
    terminal: o.tty === true,
    resources,
    mounts: [...volumes.map(volumeMount), ...tmpfs, ...(init ? [init.mount] : [])],
  });
  const security = securityOptions(o, spec.linux.namespaces.map((n) => n.type));
  security.user ??= image?.config.User; // the image's USER, unless --user says otherwise
  applySecurity(spec, security);
  if (spec.process.terminal) spec.process.consoleSize = callerWindowSize();
  return spec;
}

/** The caller's terminal size (stdout, else stdin), so that the container's starts with it. */

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
export { resolveEnv };
