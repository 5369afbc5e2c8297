// Image and storage commands (import, load, images, rmi, tag, save, ...), loaded lazily.
import type { CommandDef } from "citty";

export const imageCommands: Record<string, () => Promise<CommandDef<any>>> = {
  import: () => import("./images/import").then((m) => m.default),
  load: () => import("./images/load").then((m) => m.default),
  images: () => import("./images/images").then((m) => m.default),
  rmi: () => import("./images/rmi").then((m) => m.default),
  tag: () => import("./images/tag").then((m) => m.default),
  save: () => import("./images/save").then((m) => m.default),
  diff: () => import("./container-fs").then((m) => m.diff),
  commit: () => import("./container-fs").then((m) => m.commit),
  export: () => import("./container-fs").then((m) => m.exportFs),
  history: () => import("./history").then((m) => m.default),
  image: () => import("./prune").then((m) => m.imageGroup),
};
