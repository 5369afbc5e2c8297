// `mydocker exec [-d] [-i] [-t] [-e K=V] [--env-file F] [-w DIR] NAME COMMAND [ARG...]`: a process in
// all of a running container's namespaces, its cgroup, its root and working directory, with its
// environment plus --env-file and -e. With -d it is left running once it has started.
import { defineCommand } from "citty";
import { splitArgs, FlagError, UsageError } from "../cli/argv";
import { openCgroup } from "../cgroups";
import { execInContainer, StartError } from "../engine/container";
import { findLive } from "../state/live";
import { readConfig } from "../state/store";
import { log } from "../log";
import { envFromFlags } from "../cli/kv-file";
import { Attachment } from "../engine/attach";
import { isatty } from "../../ffi/tty";
import { callerWindowSize } from "../cli/window-size";
import { mark, now, renderTrace, startTrace, step, tracing } from "../trace";
import { capabilitySets, isRootUser } from "../security/capabilities";

const args = {
  detach: { type: "boolean", alias: "d", description: "Start the command and return (prints nothing)" },
  interactive: { type: "boolean", alias: "i", description: "Keep STDIN attached" },
  tty: { type: "boolean", alias: "t", description: "Allocate a terminal" },
  env: { type: "string", alias: "e", valueHint: "KEY=VALUE...", description: "Set an environment variable (repeatable)" },
  "env-file": { type: "string", valueHint: "FILE...", description: "Read environment variables from a file (repeatable; before -e)" },
  workdir: { type: "string", alias: "w", description: "Working directory (default: the container's)" },
  user: { type: "string", alias: "u", valueHint: "USER[:GROUP]", description: "User name or uid (default: the container's)" },
  trace: { type: "string", valueHint: "[=json]", description: "After the command ends, print every kernel step of the exec with its time (stderr)" },
} as const;

export default defineCommand({
  meta: { name: "exec", description: "Run a command in a running container" },
  args: { ...args, container: { type: "positional", required: true }, command: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, rest } = splitArgs(rawArgs, args);
    if (options.trace !== undefined) {
      if (!["", "json", "table"].includes(options.trace as string)) throw new FlagError(`invalid --trace "${options.trace}": table or json`);
      startTrace("parent");
      mark("Bun start-up and the command line", performance.timeOrigin);
    }
    if (rest.length < 2) throw new FlagError(`"exec" requires at least 2 arguments: CONTAINER COMMAND [ARG...]`);
    const [ref, ...command] = rest as [string, ...string[]];
    const detach = options.detach === true;
    if (detach && options.tty) throw new FlagError("-d and -t cannot be combined: a detached command has no terminal to attach");
    if (detach && options.trace !== undefined) throw new FlagError("conflicting options: --trace and -d");
    const extraEnv = envFromFlags((options["env-file"] as string[] | undefined) ?? [], (options.env as string[] | undefined) ?? []);
    const s = step("find the container (its record; its PID 1 alive)", () => findLive(ref));
    if (s.status === "paused") throw new UsageError(`container ${ref} is paused: unpause it first`);
    if (s.status !== "running") throw new UsageError(`container ${ref} is not running`);
    const workdir = options.workdir as string | undefined;
    if (workdir !== undefined && !workdir.startsWith("/")) throw new FlagError(`invalid --workdir "${workdir}": must be an absolute path`);
    const spec = step("its OCI config (config.json)", () => readConfig(s.id));
    const env = new Map(spec.process.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv]));
    for (const kv of extraEnv) env.set(kv.slice(0, kv.indexOf("=")), kv);
    if (options.tty) env.set("TERM", "TERM=xterm");
    if (options.tty && options.interactive && !isatty(0)) log().warn("the input device is not a TTY");
    // The container's own restrictions (capabilities, rlimits, no_new_privs, seccomp), and its
    // user unless -u names another: an exec'd process is no more privileged than the first one.
    const proc = { ...spec.process, args: command, env: [...env.values()], cwd: workdir ?? spec.process.cwd, terminal: options.tty === true };
    const user = options.user as string | undefined;
    if (user !== undefined) {
      if (!/^[^:\s]+(:[^:\s]+)?$/.test(user)) throw new FlagError(`invalid --user "${user}": expected USER[:GROUP]`);
      proc.user = { uid: 0, gid: 0, name: user };
      const bounding = spec.process.capabilities?.bounding;
      if (bounding) proc.capabilities = capabilitySets(bounding, isRootUser(user));
    }
    proc.consoleSize = options.tty ? callerWindowSize() : undefined;
    const attachment = detach ? undefined : new Attachment();
    let launched;
    try {
      launched = execInContainer({
        pid: s.pid!,
        cgroup: step("its cgroup (mountinfo: where each hierarchy is)", () => openCgroup({ id: s.id, parent: s.cgroup.parent, selfCgroup: s.cgroup.selfCgroup })),
        process: proc,
        namespaces: spec.linux.namespaces.map((n) => n.type),
        seccomp: spec.linux.seccomp,
        stdio: options.tty || detach ? ["ignore", "ignore", "ignore"] : [options.interactive ? "inherit" : "ignore", "inherit", "inherit"],
      });
    } catch (e) {
      await attachment?.close();
      if (!(e instanceof StartError)) throw e;
      log().error(e.message);
      if (tracing()) process.stderr.write(renderTrace(options.trace === "json" ? "json" : "table"));
      return void (process.exitCode = e.code);
    }
    if (!attachment) {
      // -d: it runs (execve succeeded); in the container's PID namespace its parent-to-be, once
      // we exit, is the container's PID 1 (pid_namespaces(7)).
      launched.init.unref();
      return;
    }
    attachment.connect(launched.init, launched.terminal, options.interactive === true);
    const running = now();
    process.exitCode = await launched.init.exited;
    mark("wait: the command runs until it exits", running, `exit ${process.exitCode}`);
    await attachment.close();
    if (tracing()) process.stderr.write(renderTrace(options.trace === "json" ? "json" : "table"));
  },
});
