// `run --init`: a minimal init as PID 1 of the container, as docker-init. Debian's `tini` package
// ships a static build (no libc needed inside the container); it is bound read-only into the
// container and put in front of the command with `--`. It forwards the signals it gets to the
// command, reaps orphans, and exits with the command's status (128+N when a signal killed it) —
// and it costs no Bun process. PID 1 ignores signals it has no handler for (pid_namespaces(7));
// tini has handlers for all of them, so `stop` works on commands that have none.
import { accessSync, constants } from "node:fs";
import type { Mount } from "../spec";
import { UsageError } from "../errors";

/** Debian's tini package (apt-get install tini). */
export const TINI_STATIC = "/usr/bin/tini-static";
/** where docker binds its init */
export const INIT_PATH = "/sbin/docker-init";

/** The bind mount of the init and the command that runs under it. Throws when tini is missing. */
export function withInit(command: string[], binary = TINI_STATIC): { mount: Mount; args: string[] } {
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new UsageError(`--init: ${binary} is missing (install Debian's "tini" package)`);
  }
  return {
    mount: { destination: INIT_PATH, type: "bind", source: binary, options: ["bind", "ro", "nosuid", "nodev"] },
    args: [INIT_PATH, "--", ...command],
  };
}
