// Which containers use an image: their state.json (under the runtime root) holds its id in
// `imageId` (the state store's field) or `image` (the agreed minimum: `{ id, image?, status }`).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeRoot } from "../paths";

const bare = (id: string) => id.replace(/^sha256:/, "");

/** Ids of the containers whose state.json has `imageId` or `image` equal to `imageId` (with or without "sha256:"). */
export function imageUsers(imageId: string): string[] {
  let dirs: string[];
  try {
    dirs = readdirSync(runtimeRoot());
  } catch {
    return [];
  }
  const users: string[] = [];
  for (const d of dirs.sort()) {
    let state: { id?: unknown; image?: unknown; imageId?: unknown };
    try {
      state = JSON.parse(readFileSync(join(runtimeRoot(), d, "state.json"), "utf8"));
    } catch {
      continue; // not a container directory, or one being written
    }
    const uses = [state?.imageId, state?.image].some((v) => typeof v === "string" && bare(v) === bare(imageId));
    if (uses) users.push(typeof state.id === "string" ? state.id : d);
  }
  return users;
}
