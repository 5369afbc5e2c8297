// `mydocker history [-q] [--no-trunc] [-H] [--format F] IMAGE`: the image config's history, newest
// first, as docker prints it: IMAGE (the image's id on the top row, <missing> below, as docker
// shows images it did not build), CREATED, CREATED BY, SIZE (of the layer that step made; 0B for
// steps that made none), COMMENT.
import { defineCommand } from "citty";
import { ago, formatRows, humanSize } from "../format";
import { hasLayer, layerInfo } from "../image/layers";
import { imageConfigBytes, parseImageConfig, requireImage, type OciImageConfig } from "../image/store";
import { parseArgs, expectCount } from "./images/args";

const historyArgs = {
  quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
  "no-trunc": { type: "boolean", description: "Don't truncate output" },
  human: { type: "boolean", alias: "H", description: "Print sizes and dates in human readable format (default true; --human=false)" },
  format: { type: "string", description: "table, json, or a Go template" },
} as const;

export interface HistoryRow {
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
}

const HEADERS: Record<string, string> = { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" };
const DEFAULT_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

/** docker's stringutils.Ellipsis: at most `max` characters, the last one "…" when cut. */
const ellipsis = (s: string, max: number) => ([...s].length > max ? `${[...s].slice(0, max - 1).join("")}…` : s);

/** The history entries of a config, newest first, each with the layer it made (if any). */
export function historyOf(oci: OciImageConfig, layers: string[]): { created?: string; createdBy: string; comment: string; layer?: string }[] {
  const steps = oci.history?.length ? oci.history : layers.map(() => ({ created: oci.created }) as NonNullable<OciImageConfig["history"]>[number]);
  let next = 0;
  const out = steps.map((h) => ({
    created: h.created,
    createdBy: h.created_by ?? "",
    comment: h.comment ?? "",
    layer: h.empty_layer ? undefined : layers[next++],
  }));
  return out.reverse();
}

export default defineCommand({
  meta: { name: "history", description: "Show the history of an image" },
  args: { ...historyArgs, image: { type: "positional", required: true } },
  async run({ rawArgs }) {
    const { options, positionals } = parseArgs(rawArgs, historyArgs);
    expectCount("history", "IMAGE", positionals, 1, 1);
    const human = options.human !== false;
    const noTrunc = options["no-trunc"] === true;
    const image = requireImage(positionals[0]!);
    const { oci, layers } = parseImageConfig(imageConfigBytes(image.id));
    const steps = historyOf(oci, layers);
    const rows: HistoryRow[] = steps.map((h, i) => {
      const size = h.layer && hasLayer(h.layer) ? layerInfo(h.layer).size : 0;
      const createdBy = h.createdBy.replace(/\s+/g, " ");
      return {
        ID: i === 0 ? (noTrunc ? image.id : image.id.replace(/^sha256:/, "").slice(0, 12)) : "<missing>",
        CreatedSince: h.created ? (human ? ago(h.created) : h.created) : "N/A",
        CreatedAt: h.created ?? "",
        CreatedBy: noTrunc ? createdBy : ellipsis(createdBy, 45),
        Size: human ? humanSize(size) : String(size),
        Comment: h.comment,
      };
    });
    if (options.quiet) return void rows.forEach((r) => console.log(r.ID));
    for (const line of formatRows(options.format as string | undefined, rows, { defaultFormat: DEFAULT_FORMAT, headers: HEADERS, view: (r) => r })) console.log(line);
  },
});
