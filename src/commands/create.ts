// `mydocker create [OPTIONS] [IMAGE] COMMAND [ARG...]`: run's first half. The container is
// recorded (status "created", its name taken, its named volumes made) and its id printed; nothing
// runs and nothing is mounted until `start` (which calls run.ts's startDetached/runInForeground).
import { defineCommand } from "citty";
import { FlagError, splitArgs, UsageError } from "../cli/argv";
import { configureLog } from "../log";
import { newContainerId } from "../ids";
import { attachedStreams } from "../cli/container-flags";
import { reserveContainer, runArgs } from "./run";

/** run's flags, less those that only mean something to a run that starts at once */
const { detach: _d, trace: _t, "sig-proxy": _s, ...createArgs } = runArgs;
export { createArgs };

export default defineCommand({
  meta: { name: "create", description: "Create a new container (start it with `start`)" },
  args: { ...createArgs, command: { type: "positional", description: "[IMAGE] COMMAND [ARG...]", required: true } },
  async run({ rawArgs }) {
    const { options, rest } = splitArgs(rawArgs, createArgs);
    configureLog({ level: options["log-level"] as string, format: options["log-format"] as string });
    if (rest.length === 0) throw new FlagError(`"create" requires at least 1 argument: [IMAGE] COMMAND`);
    attachedStreams((options.attach as string[] | undefined) ?? [], options.interactive === true); // checked now, used by `start -a`
    if (process.getuid?.() !== 0) throw new UsageError("mydocker create must be run as root");
    const { state } = reserveContainer(newContainerId(), options, rest, "create");
    console.log(state.id);
  },
});
