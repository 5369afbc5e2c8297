// The flags `run` and `create` share beyond the resources and security ones (docker's meanings),
// and the checks of their values. Each bad value is a one-line FlagError (exit 125); nothing here
// touches the host.
import { constants } from "node:os";
import { existsSync } from "node:fs";
import { FlagError, UsageError } from "../errors";

export const containerArgs = {
  entrypoint: { type: "string", valueHint: "CMD", description: "Overwrite the image's ENTRYPOINT (\"\" clears it)" },
  "env-file": { type: "string", valueHint: "FILE...", description: "Read environment variables from a file (repeatable; before -e)" },
  label: { type: "string", alias: "l", valueHint: "KEY=VALUE...", description: "Set a label (repeatable)" },
  "label-file": { type: "string", valueHint: "FILE...", description: "Read labels from a file of KEY=VALUE lines (repeatable)" },
  cidfile: { type: "string", valueHint: "FILE", description: "Write the container id to FILE (which must not exist)" },
  "stop-signal": { type: "string", valueHint: "SIGTERM", description: "Signal that `stop` sends to the container" },
  "stop-timeout": { type: "string", valueHint: "10", description: "Seconds `stop` waits before SIGKILL (-1: forever)" },
  init: { type: "boolean", description: "Run a minimal init (tini) as PID 1 that reaps zombies and passes signals on" },
  pull: { type: "string", valueHint: "missing", description: "never or missing (there is no registry to pull from)" },
  platform: { type: "string", valueHint: "linux/amd64", description: "Require the image to be for this OS[/ARCH[/VARIANT]]" },
  attach: { type: "string", alias: "a", valueHint: "STREAM...", description: "Attach to stdin, stdout or stderr (repeatable; default: stdout and stderr)" },
  "sig-proxy": { type: "boolean", description: "Pass the signals `run` receives to the container (default true; non-TTY)" },
} as const;

/** `SIGUSR1`, `usr1`, `10` -> "SIGUSR1" (a number without a name stays a number). */
export function signalName(text: string, flag: string): string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) throw new FlagError(`invalid ${flag} "${text}": signals are 1 to 64`);
    return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? text;
  }
  const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  if (!(name in constants.signals)) throw new FlagError(`invalid ${flag} "${text}": no such signal`);
  return name;
}

/** `--stop-timeout`: whole seconds, -1 for no limit. */
export function parseStopTimeout(text: string): number {
  if (!/^-?\d+$/.test(text) || Number(text) < -1) throw new FlagError(`invalid --stop-timeout "${text}": expected whole seconds (or -1)`);
  return Number(text);
}

export interface Streams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/**
 * `-a` (docker/cli's rules): without it, stdout and stderr are attached; with it, only those it
 * names. stdin follows -i either way (a stdin that is not kept open cannot be attached).
 */
export function attachedStreams(values: string[], interactive: boolean): Streams {
  const named = new Set<string>();
  for (const v of values) {
    const s = v.toLowerCase();
    if (s !== "stdin" && s !== "stdout" && s !== "stderr") throw new FlagError(`invalid argument "${v}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
    named.add(s);
  }
  const all = named.size === 0;
  return { stdin: interactive, stdout: all || named.has("stdout"), stderr: all || named.has("stderr") };
}

/** `--pull`: nothing can be pulled here, so `always` cannot be honoured. */
export function checkPull(policy: string | undefined): void {
  if (policy === undefined || policy === "missing" || policy === "never") return;
  if (policy === "always") throw new FlagError(`--pull always: there is no registry to pull from; use "mydocker load" or "mydocker import"`);
  throw new FlagError(`invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
}

export interface Platform {
  os: string;
  architecture?: string;
  variant?: string;
}

/** `--platform os[/arch[/variant]]`, lower-cased as containerd's platforms.Parse does. */
export function parsePlatform(text: string): Platform {
  const parts = text.toLowerCase().split("/");
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) throw new FlagError(`invalid --platform "${text}": expected OS[/ARCH[/VARIANT]]`);
  const arch = parts[1] === "x86_64" || parts[1] === "x86-64" ? "amd64" : parts[1] === "aarch64" ? "arm64" : parts[1];
  return { os: parts[0]!, architecture: arch, variant: parts[2] };
}

const show = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join("/");

/** The image (or, on a plain root, this host) must be what --platform asks for. */
export function checkPlatform(wanted: Platform, actual: Platform, what: string): void {
  const ok = wanted.os === actual.os && (wanted.architecture === undefined || wanted.architecture === actual.architecture) && (wanted.variant === undefined || wanted.variant === actual.variant);
  if (!ok) throw new UsageError(`${what} does not match the specified platform: wanted ${show(wanted)}, actual: ${show(actual)}`);
}

/** `--cidfile`: refused when the file exists (docker's check, before anything is made). */
export function checkCidfile(path: string | undefined): void {
  if (path === undefined) return;
  if (path === "") throw new FlagError("invalid --cidfile: empty path");
  if (existsSync(path)) throw new UsageError(`container ID file found, make sure the other container isn't running or delete ${path}`);
}
