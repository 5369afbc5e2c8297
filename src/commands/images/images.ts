// `mydocker images [OPTIONS] [REPOSITORY[:TAG]]`: docker's table (REPOSITORY, TAG, IMAGE ID,
// CREATED, SIZE), ids only with -q, one JSON object per line with --format json, or a Go
// template (format/template.ts); --filter dangling, label, reference, before, since.
import { defineCommand } from "citty";
import { FlagError } from "../../cli/argv";
import { formatRows, goTime, humanDuration, humanSize } from "../../format";
import { parseReference } from "../../image/reference";
import { imageConfigBytes, listImages, resolveImage, type ImageRecord } from "../../image/store";
import { labelMatches, parseFilters } from "../filters";
import { parseArgs, expectCount } from "./args";

const imagesArgs = {
  quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
  all: { type: "boolean", alias: "a", description: "Show all images (there are no intermediate ones)" },
  "no-trunc": { type: "boolean", description: "Don't truncate output" },
  digests: { type: "boolean", description: "Show digests" },
  filter: { type: "string", alias: "f", valueHint: "KEY=VALUE...", description: "dangling=true|false, label=KEY[=VALUE], reference=PATTERN, before=IMAGE, since=IMAGE" },
  format: { type: "string", description: "table, json, or a template such as '{{.Repository}}:{{.Tag}}'" },
} as const;

interface Row {
  Repository: string;
  Tag: string;
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  image: ImageRecord;
}

const HEADERS: Record<string, string> = { Repository: "REPOSITORY", Tag: "TAG", ID: "IMAGE ID", CreatedSince: "CREATED", CreatedAt: "CREATED AT", Size: "SIZE", Digest: "DIGEST", Containers: "CONTAINERS", SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE", VirtualSize: "VIRTUAL SIZE" };

export default defineCommand({
  meta: { name: "images", description: "List images" },
  args: { ...imagesArgs, reference: { type: "positional", description: "REPOSITORY[:TAG]", required: false } },
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, imagesArgs);
    expectCount("images", "[REPOSITORY[:TAG]]", positionals, 0, 1);
    const images = listImages();
    const filters = parseFilters([options.filter ?? []].flat() as string[], FILTER_KEYS);
    const keep = imageFilter(filters, images);
    const rows = filter(toRows(images.filter(keep).map(matchingTags(filters)), options["no-trunc"] === true), positionals[0]);
    if (options.quiet) {
      const seen = new Set<string>();
      for (const r of rows) if (!seen.has(r.ID) && seen.add(r.ID)) console.log(r.ID);
      return;
    }
    const format = (options.format as string | undefined) ?? "table";
    const defaultFormat = `table {{.Repository}}\t{{.Tag}}\t${options.digests ? "{{.Digest}}\t" : ""}{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`;
    const lines = formatRows(format === "{{json .}}" ? "json" : format, rows, { defaultFormat, headers: HEADERS, view: jsonOf, json: jsonOf });
    if (lines.length) console.log(lines.join("\n"));
  },
});

const FILTER_KEYS = ["dangling", "label", "reference", "before", "since"];

/** Image labels, from the image's config (`LABEL` in a Dockerfile). */
export function imageLabels(image: ImageRecord): Record<string, string> {
  try {
    const cfg = JSON.parse(imageConfigBytes(image.id).toString("utf8")) as { config?: { Labels?: Record<string, string> | null } };
    return { ...(cfg.config?.Labels ?? {}) };
  } catch {
    return {};
  }
}

/** docker's reference filter: a glob (path.Match: * and ? within a path segment) on name or name:tag. */
function globMatches(pattern: string, text: string): boolean {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]") + "$");
  return re.test(text);
}

function referenceMatches(pattern: string, repoTag: string): boolean {
  const { name, tag } = parseReference(repoTag);
  return globMatches(pattern, name) || globMatches(pattern, `${name}:${tag}`) || globMatches(pattern, repoTag);
}

/** With a reference filter, docker lists only an image's tags that match one of its patterns. */
function matchingTags(filters: Map<string, string[]>): (image: ImageRecord) => ImageRecord {
  const patterns = filters.get("reference");
  if (!patterns) return (image) => image;
  return (image) => ({ ...image, repoTags: image.repoTags.filter((t) => patterns.some((p) => referenceMatches(p, t))) });
}

function imageFilter(filters: Map<string, string[]>, images: ImageRecord[]): (image: ImageRecord) => boolean {
  const created = (ref: string) => {
    const image = resolveImage(ref);
    if (!image) throw new FlagError(`No such image: ${ref}`);
    return Date.parse(image.created);
  };
  const before = filters.get("before")?.map(created);
  const since = filters.get("since")?.map(created);
  for (const v of filters.get("dangling") ?? []) if (!["true", "false", "1", "0"].includes(v)) throw new FlagError(`invalid filter 'dangling=${v}': use true or false`);
  void images;
  const checks: Record<string, (image: ImageRecord, v: string) => boolean> = {
    dangling: (image, v) => (image.repoTags.length === 0) === (v === "true" || v === "1"),
    label: (image, v) => labelMatches(imageLabels(image), v),
    reference: (image, v) => image.repoTags.some((t) => referenceMatches(v, t)),
    before: (image) => before!.every((t) => Date.parse(image.created) < t),
    since: (image) => since!.every((t) => Date.parse(image.created) > t),
  };
  return (image) => [...filters].every(([key, values]) => values.some((v) => checks[key]!(image, v)));
}

function toRows(images: ImageRecord[], noTrunc: boolean): Row[] {
  const now = Date.now();
  const rows: Row[] = [];
  for (const image of images) {
    const created = Date.parse(image.created);
    const common = {
      ID: noTrunc ? image.id : image.id.replace(/^sha256:/, "").slice(0, 12),
      CreatedSince: Number.isNaN(created) ? "N/A" : `${humanDuration(now - created)} ago`,
      CreatedAt: Number.isNaN(created) ? "" : goTime(new Date(created)),
      Size: humanSize(image.size),
      image,
    };
    if (image.repoTags.length === 0) rows.push({ Repository: "<none>", Tag: "<none>", ...common });
    for (const t of image.repoTags) {
      const { name, tag } = parseReference(t);
      rows.push({ Repository: name, Tag: tag, ...common });
    }
  }
  return rows;
}

function filter(rows: Row[], ref: string | undefined): Row[] {
  if (ref === undefined) return rows;
  const hasTag = ref.lastIndexOf(":") > ref.lastIndexOf("/");
  const { name, tag } = parseReference(ref);
  return rows.filter((r) => r.Repository === name && (!hasTag || r.Tag === tag));
}

function jsonOf(r: Row) {
  return {
    Containers: "N/A",
    CreatedAt: r.CreatedAt,
    CreatedSince: r.CreatedSince,
    Digest: "<none>",
    ID: r.ID,
    Repository: r.Repository,
    SharedSize: "N/A",
    Size: r.Size,
    Tag: r.Tag,
    UniqueSize: "N/A",
    VirtualSize: r.Size,
  };
}
