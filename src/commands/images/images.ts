// `mydocker images [OPTIONS] [REPOSITORY[:TAG]]`: docker's table (REPOSITORY, TAG, IMAGE ID,
// CREATED, SIZE), ids only with -q, one JSON object per line with --format json, or a
// {{.Field}} template.
import { defineCommand } from "citty";
import { UsageError } from "../../cli/argv";
import { humanDuration, humanSize, table } from "../../format";
import { parseReference } from "../../image/reference";
import { listImages, type ImageRecord } from "../../image/store";
import { parseArgs, expectCount } from "./args";

const imagesArgs = {
  quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
  all: { type: "boolean", alias: "a", description: "Show all images (there are no intermediate ones)" },
  "no-trunc": { type: "boolean", description: "Don't truncate output" },
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

const HEADERS: Record<string, string> = { Repository: "REPOSITORY", Tag: "TAG", ID: "IMAGE ID", CreatedSince: "CREATED", CreatedAt: "CREATED AT", Size: "SIZE", Digest: "DIGEST" };

export default defineCommand({
  meta: { name: "images", description: "List images" },
  args: { ...imagesArgs, reference: { type: "positional", description: "REPOSITORY[:TAG]", required: false } },
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, imagesArgs);
    expectCount("images", "[REPOSITORY[:TAG]]", positionals, 0, 1);
    const rows = filter(toRows(listImages(), options["no-trunc"] === true), positionals[0]);
    if (options.quiet) {
      const seen = new Set<string>();
      for (const r of rows) if (!seen.has(r.ID) && seen.add(r.ID)) console.log(r.ID);
      return;
    }
    const format = (options.format as string | undefined) ?? "table";
    if (format === "json" || format === "{{json .}}") {
      for (const r of rows) console.log(JSON.stringify(jsonOf(r)));
    } else if (format === "table") {
      const out = table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size]));
      console.log(out);
    } else {
      const tableMode = format.startsWith("table ");
      const tpl = (tableMode ? format.slice(6) : format).replace(/\\t/g, "\t").replace(/\\n/g, "\n");
      const fields = [...tpl.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)].map((m) => m[1]!);
      for (const f of fields) if (!(f in HEADERS)) throw new UsageError(`invalid --format: unknown field .${f} (use ${Object.keys(HEADERS).join(", ")})`);
      const fill = (get: (f: string) => string) => tpl.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, f) => get(f));
      if (tableMode) {
        const cells = (get: (f: string) => string) => fill(get).split("\t");
        console.log(table(cells((f) => HEADERS[f]!), rows.map((r) => cells((f) => valueOf(r, f)))));
      } else for (const r of rows) console.log(fill((f) => valueOf(r, f)));
    }
  },
});

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

const valueOf = (r: Row, f: string): string => (f === "Digest" ? "<none>" : String((r as unknown as Record<string, unknown>)[f] ?? ""));

/** Go's time.Time String(), as docker prints CreatedAt. */
function goTime(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC");
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
