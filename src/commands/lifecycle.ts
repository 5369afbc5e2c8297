// Container lifecycle commands (ps, logs, exec, stop, kill, rm, inspect, wait, ...), loaded lazily.
import type { CommandDef } from "citty";

const load = (file: Promise<{ default: CommandDef<any> }>) => file.then((m) => m.default);

export const lifecycleCommands: Record<string, () => Promise<CommandDef<any>>> = {
  ps: () => load(import("./ps")),
  logs: () => load(import("./logs")),
  exec: () => load(import("./exec")),
  stop: () => import("./stop").then((m) => m.stop),
  kill: () => import("./stop").then((m) => m.kill),
  rm: () => load(import("./rm")),
  inspect: () => import("./inspect").then((m) => m.inspect),
  wait: () => import("./inspect").then((m) => m.wait),
  rename: () => import("./inspect").then((m) => m.rename),
  top: () => import("./top").then((m) => m.top),
  pause: () => import("./top").then((m) => m.pause),
  unpause: () => import("./top").then((m) => m.unpause),
  volume: () => import("./prune").then((m) => m.volumeGroup),
  container: () => import("./prune").then((m) => m.containerGroup),
  cp: () => load(import("./cp")),
  stats: () => load(import("./stats")),
  events: () => load(import("./events")),
  version: () => load(import("./version")),
  info: () => load(import("./info")),
  system: () => load(import("./system")),
  monitor: () => load(import("./monitor")),
  start: () => load(import("./start")),
  restart: () => load(import("./restart")),
  attach: () => load(import("./attach")),
};
