// `mydocker rmi [-f] IMAGE...`: removes a name, and the image with its unused layers once no name
// is left. An image a container uses is never deleted (not even with -f: its layers are that
// container's root filesystem). Errors for one IMAGE do not stop the others; the exit status is 1
// if any failed.
import { defineCommand } from "citty";
import { UsageError } from "../../cli/argv";
import { log } from "../../log";
import { normalizeReference } from "../../image/reference";
import { deleteImage, readRepositories, removeTag, requireImage, sweepStaleFiles } from "../../image/store";
import { imageUsers } from "../../image/usage";
import { parseArgs, expectCount } from "./args";

const rmiArgs = {
  force: { type: "boolean", alias: "f", description: "Remove an image referenced by several names, given by id" },
} as const;

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

export default defineCommand({
  meta: { name: "rmi", description: "Remove one or more images" },
  args: { ...rmiArgs, images: { type: "positional", description: "IMAGE...", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, rmiArgs);
    expectCount("rmi", "IMAGE...", positionals, 1);
    sweepStaleFiles(); // what killed writers left (a later import does the same)
    let failed = false;
    for (const ref of positionals) {
      try {
        removeImage(ref, options.force === true);
      } catch (e) {
        failed = true;
        log().error((e as Error).message);
      }
    }
    if (failed) process.exitCode = 1;
  },
});

function removeImage(ref: string, force: boolean): void {
  const image = requireImage(ref);
  let byName: string | undefined;
  try {
    const t = normalizeReference(ref);
    if (readRepositories()[t] === image.id) byName = t;
  } catch {}
  if (byName && image.repoTags.length > 1) {
    removeTag(byName);
    console.log(`Untagged: ${byName}`);
    (require("../../events") as typeof import("../../events")).emit("image", "untag", { id: image.id, attributes: { name: byName } });
    return;
  }
  if (!byName && image.repoTags.length > 1 && !force) {
    throw new UsageError(`conflict: unable to delete ${short(image.id)} (must be forced) - image is referenced in multiple repositories`);
  }
  // checked under the store's lock, which `run` holds from choosing an image to recording its container
  const layers = deleteImage(image.id, () => {
    const users = imageUsers(image.id);
    if (users.length) {
      throw new UsageError(
        `conflict: unable to delete ${ref} (cannot be forced) - image ${short(image.id)} is used by container${users.length > 1 ? "s" : ""} ${users.map(short).join(", ")}`,
      );
    }
  });
  for (const t of image.repoTags) console.log(`Untagged: ${t}`);
  for (const t of image.repoTags) (require("../../events") as typeof import("../../events")).emit("image", "untag", { id: image.id, attributes: { name: t } });
  console.log(`Deleted: ${image.id}`);
  (require("../../events") as typeof import("../../events")).emit("image", "delete", { id: image.id, attributes: { name: image.repoTags[0] ?? image.id } });
  for (const l of layers) console.log(`Deleted: ${l}`);
}
