// Container lifecycle commands (ps, logs, exec, stop, kill, rm, inspect, wait, ...), loaded lazily.
import type { CommandDef } from "citty";

export const lifecycleCommands: Record<string, () => Promise<CommandDef<any>>> = {};
