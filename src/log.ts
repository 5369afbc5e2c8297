// The runtime's own messages: always on stderr (the container owns stdout), one line each, as
// text (`mydocker: error: ...`) or as JSON ({"level","msg","time"}) with --log-format json.
// consola/core is used with our two reporters: the full consola build costs ~40 ms at start-up
// (measured), and every container start would pay it.
import { createConsola, type ConsolaInstance, type LogObject } from "consola/core";

export type LogFormat = "text" | "json";
const LEVELS = { error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevel = keyof typeof LEVELS;

let format: LogFormat = "text";
let level: LogLevel = "info";
let instance: ConsolaInstance | undefined;

export function configureLog(opts: { level?: string; format?: string }): void {
  if (opts.format !== undefined) {
    if (opts.format !== "text" && opts.format !== "json") throw new Error(`invalid --log-format "${opts.format}": use text or json`);
    format = opts.format;
  }
  if (opts.level !== undefined) {
    if (!(opts.level in LEVELS)) throw new Error(`invalid --log-level "${opts.level}": use one of ${Object.keys(LEVELS).join(", ")}`);
    level = opts.level as LogLevel;
  }
  instance = undefined;
}

const messageOf = (obj: LogObject) => obj.args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");

const reporters = {
  text: { log: (obj: LogObject) => process.stderr.write(`mydocker: ${obj.type === "info" ? "" : obj.type + ": "}${messageOf(obj)}\n`) },
  json: {
    log: (obj: LogObject) =>
      process.stderr.write(JSON.stringify({ level: obj.type, msg: messageOf(obj), time: obj.date.toISOString() }) + "\n"),
  },
};

export function log(): ConsolaInstance {
  return (instance ??= createConsola({ level: LEVELS[level], reporters: [reporters[format]] }));
}
