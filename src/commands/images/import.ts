// `mydocker import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]`: a root filesystem as a one-layer image.
import { defineCommand } from "citty";
import { applyChanges, importImage } from "../../image/import";
import { parseArgs, expectCount } from "./args";

const importArgs = {
  change: { type: "string", alias: "c", valueHint: "INSTRUCTION...", description: "Apply CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or STOPSIGNAL to the image (repeatable)" },
  message: { type: "string", alias: "m", description: "Comment for the image's history" },
} as const;

export default defineCommand({
  meta: { name: "import", description: "Import a root filesystem (a tarball, maybe compressed; a directory; - for stdin) as an image" },
  args: {
    ...importArgs,
    source: { type: "positional", description: "FILE|DIR|-", required: true },
    reference: { type: "positional", description: "REPOSITORY[:TAG]", required: false },
  },
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, importArgs);
    expectCount("import", "FILE|DIR|- [REPOSITORY[:TAG]]", positionals, 1, 2);
    const config = applyChanges((options.change as string[] | undefined) ?? []);
    const r = await importImage({ source: positionals[0]!, reference: positionals[1], config, message: options.message as string | undefined });
    (require("../../events") as typeof import("../../events")).emit("image", "import", { id: r.id, attributes: { name: positionals[1] ?? "" } });
    console.log(r.id);
  },
});
