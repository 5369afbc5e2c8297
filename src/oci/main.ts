// `mydocker-runc` (a symlink to mydocker: the name picks this command table) and `mydocker oci`:
// the OCI runtime command line that engines call — podman through conmon, containerd's runc shim
// (so Docker and Kubernetes). Global flags come before the command, as runc's do. Failures exit
// 1 and, with `--log-format json`, leave a {"level":"error","msg":...} line in --log, which
// engines show to their user.
import { appendFileSync } from "node:fs";
import { setRoots } from "../paths";
import { COMMANDS, type Context } from "./commands";
import { parseFlags, str } from "./flags";
import { DEFAULT_OCI_ROOT, OCI_VERSION, OciError } from "./store";

const VERSION = "0.1.0";

const GLOBAL = {
  root: { value: true },
  log: { value: true },
  "log-format": { value: true },
  debug: {},
  "systemd-cgroup": {},
  version: { alias: "v" },
  help: { alias: "h" },
};

export async function main(argv: string[]): Promise<never> {
  let log: (level: string, msg: string) => void = (level, msg) => process.stderr.write(`mydocker-runc: ${level}: ${msg}\n`);
  try {
    const { flags, args } = parseFlags(argv, GLOBAL, "mydocker-runc");
    const file = str(flags, "log");
    const json = str(flags, "log-format") === "json";
    if (str(flags, "log-format") !== undefined && !["json", "text"].includes(str(flags, "log-format")!)) throw new OciError(`invalid --log-format "${str(flags, "log-format")}": text or json`);
    log = (level, msg) => {
      if (level === "error" || !file) process.stderr.write(`mydocker-runc: ${level === "error" ? "" : `${level}: `}${msg}\n`);
      if (file) appendFileSync(file, json ? JSON.stringify({ level, msg, time: new Date().toISOString() }) + "\n" : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`);
    };
    if (flags.version) return exit(console.log(`mydocker-runc version ${VERSION}\nspec: ${OCI_VERSION}`), 0);
    if (flags["systemd-cgroup"]) throw new OciError("--systemd-cgroup: the systemd cgroup driver is not supported; use cgroupfs");
    const [name, ...rest] = args;
    if (!name || flags.help) return exit(console.log(`usage: mydocker-runc [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...\ncommands: ${Object.keys(COMMANDS).join(", ")}`), name ? 0 : 1);
    const command = COMMANDS[name];
    if (!command) throw new OciError(`unknown command "${name}"`);
    setRoots({ root: str(flags, "root") ?? process.env.MYDOCKER_OCI_ROOT ?? DEFAULT_OCI_ROOT });
    const ctx: Context = { warn: (m) => log("warning", m), debug: (m) => flags.debug && log("debug", m) };
    const parsed = parseFlags(rest, command.flags, name);
    return exit(undefined, await command.run(parsed.flags, parsed.args, ctx));
  } catch (e) {
    log("error", e instanceof Error ? e.message : String(e));
    return exit(undefined, 1);
  }
}

function exit(_: unknown, code: number): never {
  process.exit(code);
}
