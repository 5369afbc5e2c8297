// `mydocker save [-o FILE] IMAGE...`: an OCI image layout tar (with docker's manifest.json).
import { defineCommand } from "citty";
import { UsageError } from "../../cli/argv";
import { saveImages } from "../../image/save";
import { parseArgs, expectCount } from "./args";

const saveArgs = {
  output: { type: "string", alias: "o", description: "Write to a file instead of stdout" },
} as const;

export default defineCommand({
  meta: { name: "save", description: "Save images to a tar archive (OCI layout + docker manifest.json)" },
  args: { ...saveArgs, images: { type: "positional", description: "IMAGE...", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, saveArgs);
    expectCount("save", "IMAGE...", positionals, 1);
    const output = options.output as string | undefined;
    if (output === undefined && process.stdout.isTTY) throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    await saveImages(positionals, output);
  },
});
