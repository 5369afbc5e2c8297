// `mydocker inspect [-f TEMPLATE] [--type T] NAME...` (docker's JSON for containers, images, volumes), `mydocker wait NAME...` (exit codes), `mydocker rename OLD NEW`.
import { defineCommand } from "citty";
import { findLive, waitFor } from "../state/live";
import { NoSuchContainer, renameContainer } from "../state/store";
import { resolveImage } from "../image/store";
import { inspectVolume } from "../volumes";
import { FlagError, isFlagError } from "../cli/argv";
import { compileTemplate } from "../format/template";
import { log } from "../log";
import { parseCommand } from "./args";
import { containerInspect, imageInspect, volumeInspect } from "./inspect-view";

const inspectArgs = {
  format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "Format the output with a Go template ({{.State.Pid}}), or json" },
  type: { type: "string", valueHint: "container|image|volume", description: "Only look for this type of object" },
  size: { type: "boolean", alias: "s", description: "Accepted for docker's compatibility (sizes are always shown for images)" },
} as const;

const KINDS = ["container", "image", "volume"] as const;

/** The object `ref` names: a container, else an image, else a volume (docker's order), or of `--type` only. */
function lookupObject(ref: string, type: (typeof KINDS)[number] | undefined): Record<string, unknown> {
  if (type === undefined || type === "container") {
    try {
      return containerInspect(findLive(ref));
    } catch (e) {
      if (type === "container" || !(e instanceof NoSuchContainer)) throw e;
    }
  }
  if (type === undefined || type === "image") {
    const image = resolveImage(ref);
    if (image) return imageInspect(image);
    if (type === "image") throw new Error(`No such image: ${ref}`);
  }
  const volume = inspectVolume(ref);
  if (volume) return volumeInspect(volume);
  throw new Error(type === "volume" ? `No such volume: ${ref}` : `No such object: ${ref}`);
}

export const inspect = defineCommand({
  meta: { name: "inspect", description: "Show containers', images' or volumes' details as JSON" },
  args: { ...inspectArgs, name: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseCommand("inspect", rawArgs, inspectArgs, 1, "NAME|ID [NAME|ID...]");
    const type = options.type as (typeof KINDS)[number] | undefined;
    if (type !== undefined && !KINDS.includes(type)) throw new FlagError(`"${type}" is not a valid value for --type (use ${KINDS.join(", ")})`);
    const format = options.format as string | undefined;
    const tpl = format !== undefined && format !== "" && format !== "json" ? compileTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n")) : undefined;
    // every object, then the output: a failing name still lets the others print (exit 1), as docker
    const out: string[] = [];
    const found: unknown[] = [];
    let failure: unknown;
    for (const ref of positionals) {
      try {
        const obj = lookupObject(ref, type);
        found.push(obj);
        if (tpl) out.push(tpl.render(obj));
        else if (format === "json") out.push(JSON.stringify(obj));
      } catch (e) {
        if (isFlagError(e)) throw e;
        failure ??= e;
        log().error((e as Error).message);
      }
    }
    if (tpl || format === "json") {
      if (out.length) console.log(out.join("\n"));
    } else console.log(JSON.stringify(found, null, 4));
    if (failure) process.exitCode = 1;
  },
});

export const wait = defineCommand({
  meta: { name: "wait", description: "Wait for containers to stop, then print their exit codes" },
  args: { container: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { positionals } = parseCommand("wait", rawArgs, {}, 1, "CONTAINER...");
    for (const ref of positionals) {
      const s = findLive(ref);
      let code: number | null | undefined;
      await waitFor(s.id, (now) => {
        if (now && now.status !== "exited") return false;
        code = now?.exitCode;
        return true;
      }, Infinity);
      console.log(code ?? -1);
    }
  },
});

export const rename = defineCommand({
  meta: { name: "rename", description: "Rename a container" },
  args: { container: { type: "positional", required: true }, name: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { positionals } = parseCommand("rename", rawArgs, {}, 2, "CONTAINER NEW_NAME");
    renameContainer(findLive(positionals[0]!).id, positionals[1]!);
    const events = require("../events") as typeof import("../events");
    events.emit("container", "rename", events.containerActor(findLive(positionals[1]!), { oldName: positionals[0]! }));
  },
});
