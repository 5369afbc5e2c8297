// Image and storage commands (import, load, images, rmi, tag, save, ...), loaded lazily.
import type { CommandDef } from "citty";

export const imageCommands: Record<string, () => Promise<CommandDef<any>>> = {};
