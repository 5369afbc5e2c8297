// Image references NAME[:TAG] with docker's grammar (distribution/reference), normalised the way
// docker shows them: "docker.io/library/busybox" is "busybox", the default tag is "latest".
import { UsageError } from "../errors";

export interface Reference {
  name: string;
  tag: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:localhost|(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*)(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Parses and normalises NAME[:TAG]; throws a one-line UsageError naming what is wrong. */
export function parseReference(ref: string): Reference {
  const bad = (why: string) => new UsageError(`invalid reference format: "${ref}"${why ? `: ${why}` : ""}`);
  if (ref === "") throw bad("empty");
  if (ref.includes("@")) throw bad("digest references are not supported");
  let name = ref;
  let tag = "latest";
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) {
    name = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
    if (!TAG.test(tag)) throw bad(`bad tag "${tag}"`);
  }
  const parts = name.split("/");
  const first = parts[0]!;
  const hasDomain = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase());
  if (hasDomain && !DOMAIN.test(first)) throw bad(`bad registry host "${first}"`);
  const path = hasDomain ? parts.slice(1) : parts;
  for (const c of path) {
    if (c !== c.toLowerCase() && COMPONENT.test(c.toLowerCase())) throw bad("repository name must be lowercase");
    if (!COMPONENT.test(c)) throw bad(c === "" ? "empty name component" : `bad name component "${c}"`);
  }
  if (name.length > 255) throw bad("repository name must not be longer than 255 characters");
  if (/^[a-f0-9]{64}$/.test(name)) throw bad("cannot use a 64-character hexadecimal string as a repository name");
  return { name: familiarName(name), tag };
}

/** docker.io/library/x -> x, docker.io/u/x -> u/x (docker's "familiar" form). */
export function familiarName(name: string): string {
  for (const host of ["docker.io/", "index.docker.io/", "registry-1.docker.io/"]) {
    if (name.startsWith(host)) {
      const rest = name.slice(host.length);
      return rest.startsWith("library/") && rest.split("/").length === 2 ? rest.slice("library/".length) : rest;
    }
  }
  return name;
}

export const formatReference = (r: Reference) => `${r.name}:${r.tag}`;

/** Parses and formats in one go: "busybox" -> "busybox:latest". */
export const normalizeReference = (ref: string) => formatReference(parseReference(ref));
