// OCI hooks (config.md "POSIX-platform Hooks"): each is a program run with the container's state
// JSON on its stdin, its own args (args[0] is its argv[0]) and env, within `timeout` seconds.
// A failing prestart, createRuntime, createContainer or startContainer hook fails the operation;
// a failing poststart or poststop hook is a warning.
import { spawnSync } from "bun";
import type { Hook, HookName, Hooks } from "./bundle";
import { OciError } from "./store";

export function runHooks(hooks: Hooks, name: HookName, state: object, warn: (msg: string) => void): void {
  for (const hook of hooks[name] ?? []) {
    const problem = runHook(hook, state);
    if (!problem) continue;
    const msg = `${name} hook ${hook.path}: ${problem}`;
    if (name === "poststart" || name === "poststop") warn(msg);
    else throw new OciError(msg);
  }
}

function runHook(hook: Hook, state: object): string | undefined {
  const [argv0, ...rest] = hook.args?.length ? hook.args : [hook.path];
  void argv0; // Bun.spawn cannot set argv[0] apart from the path; the path runs with the rest
  let r;
  try {
    r = spawnSync([hook.path, ...rest], {
      stdin: Buffer.from(JSON.stringify(state)),
      stdout: "ignore",
      stderr: "pipe",
      env: Object.fromEntries((hook.env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
      timeout: hook.timeout !== undefined ? hook.timeout * 1000 : undefined,
    });
  } catch (e) {
    return (e as Error).message;
  }
  if (r.success) return undefined;
  if (r.signalCode) return hook.timeout !== undefined && r.signalCode === "SIGTERM" ? `timed out after ${hook.timeout}s` : `killed by ${r.signalCode}`;
  const err = r.stderr?.toString().trim().split("\n").pop();
  return `exit status ${r.exitCode}${err ? `: ${err}` : ""}`;
}
