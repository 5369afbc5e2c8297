// `mydocker tag SOURCE TARGET`: another name for an image.
import { defineCommand } from "citty";
import { normalizeReference } from "../../image/reference";
import { requireImage, setTag } from "../../image/store";
import { parseArgs, expectCount } from "./args";

export default defineCommand({
  meta: { name: "tag", description: "Create a tag TARGET_IMAGE[:TAG] that refers to SOURCE_IMAGE" },
  args: {
    source: { type: "positional", description: "SOURCE_IMAGE[:TAG] or image id", required: true },
    target: { type: "positional", description: "TARGET_IMAGE[:TAG]", required: true },
  },
  async run({ rawArgs }) {
    const { positionals } = parseArgs(rawArgs, {});
    expectCount("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", positionals, 2, 2);
    const target = normalizeReference(positionals[1]!);
    const image = requireImage(positionals[0]!);
    setTag(target, image.id);
    (require("../../events") as typeof import("../../events")).emit("image", "tag", { id: image.id, attributes: { name: target } });
  },
});
