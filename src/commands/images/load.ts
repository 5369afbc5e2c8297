// `mydocker load [-i FILE|DIR]`: images from a docker save archive or an OCI image layout.
import { defineCommand } from "citty";
import { UsageError } from "../../cli/argv";
import { loadImages } from "../../image/load";
import { setQuiet } from "../../image/progress";
import { parseArgs, expectCount } from "./args";

const loadArgs = {
  input: { type: "string", alias: "i", description: "Read from an archive file or OCI layout directory instead of stdin" },
  quiet: { type: "boolean", alias: "q", description: "No progress output" },
} as const;

export default defineCommand({
  meta: { name: "load", description: "Load images from a docker save archive or an OCI image layout (directory or tar)" },
  args: loadArgs,
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, loadArgs);
    expectCount("load", "[-i FILE]", positionals, 0, 0);
    const input = (options.input as string | undefined) ?? "-";
    if (input === "-" && process.stdin.isTTY) throw new UsageError("requested load from stdin, but stdin is a terminal (use -i FILE)");
    if (options.quiet) setQuiet();
    for (const img of await loadImages(input)) {
      (require("../../events") as typeof import("../../events")).emit("image", "load", { id: img.id, attributes: { name: img.tags[0] ?? img.id } });
      for (const m of img.moved) console.log(`The image ${m.tag} already exists, renaming the old one with ID ${m.from} to empty string`);
      if (img.tags.length === 0) console.log(`Loaded image ID: ${img.id}`);
      for (const t of img.tags) console.log(`Loaded image: ${t}`);
    }
  },
});
