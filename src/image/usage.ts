// Which containers use an image: those whose record (under the runtime root) names its id in
// `imageId` — a broken ("dead") record too, when that field is readable: its layer may still be
// mounted. Records are read as the state store reads them: never through a symlink.
import { listStates } from "../state/store";

const bare = (id: string) => id.replace(/^sha256:/, "");

/** Ids of the containers that run on `imageId` (with or without "sha256:"). */
export function imageUsers(imageId: string): string[] {
  return listStates()
    .filter((s) => s.imageId !== undefined && bare(s.imageId) === bare(imageId))
    .map((s) => s.id)
    .sort();
}
