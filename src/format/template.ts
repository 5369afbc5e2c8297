// The subset of Go's text/template that docker's `--format` users write (pkg.go.dev/text/template),
// with docker's functions (docker/cli templates: json, join, split, lower, upper, title, pad,
// truncate) and Go's builtins (printf, print, println, len, index, slice, eq/ne/lt/le/gt/ge,
// and/or/not). Actions: {{pipeline}}, {{if}}/{{else if}}/{{else}}/{{end}}, {{range}} (with
// {{else}}), {{with}}, variables `$x := ...` and `$`, comments {{/* */}}, trim markers {{- -}}.
//
// Values are plain JS data. A field a value does not have is an error naming it (as Go's for a
// struct), except on objects marked with goMap(): there, as Go's maps, it is "<no value>".
// A field holding a function is a method: `{{.Label "com.example"}}` calls it with the arguments.
import { TemplateError } from "../errors";

export { TemplateError };

const MAP = Symbol("goMap");

/** Marks `obj` as a Go map (labels, options): a missing key reads as "<no value>", not an error. */
export function goMap<T extends object>(obj: T): T {
  Object.defineProperty(obj, MAP, { value: true, enumerable: false });
  return obj;
}

const isMap = (v: unknown): boolean => typeof v === "object" && v !== null && (v as any)[MAP] === true;

// ---- lexing and parsing -------------------------------------------------------------------------

type Arg =
  | { kind: "field"; base: Arg | null; path: string[] } // base null: the dot
  | { kind: "dot" }
  | { kind: "var"; name: string; path: string[] }
  | { kind: "lit"; value: unknown }
  | { kind: "ident"; name: string }
  | { kind: "pipe"; pipe: Pipeline };
type Command = Arg[];
interface Pipeline {
  decl?: string;
  cmds: Command[];
}
type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipeline }
  | { kind: "if" | "with"; pipe: Pipeline; then: Node[]; else: Node[] }
  | { kind: "range"; pipe: Pipeline; vars: string[]; body: Node[]; else: Node[] };

/** Splits into text and the insides of {{ }}, applying the trim markers. */
function lexActions(src: string): ({ text: string } | { action: string; at: number })[] {
  const out: ({ text: string } | { action: string; at: number })[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open < 0) {
      out.push({ text });
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, "");
      start += 2;
    }
    out.push({ text });
    let j = start;
    let quote = "";
    for (; j < src.length; j++) {
      const c = src[j]!;
      if (quote) {
        if (c === "\\" && quote === '"') j++;
        else if (c === quote) quote = "";
      } else if (c === '"' || c === "`" || c === "'") quote = c;
      else if (src.startsWith("}}", j)) break;
    }
    if (j >= src.length) throw new TemplateError(`template: unclosed action at offset ${open}`);
    let inside = src.slice(start, j);
    trimNext = false;
    if (/\s-$/.test(inside)) {
      inside = inside.slice(0, -2);
      trimNext = true;
    }
    out.push({ action: inside.trim(), at: open });
    i = j + 2;
  }
  return out.filter((p) => !("text" in p) || p.text !== "");
}

/** Tokens of one action: strings, numbers, words, fields, variables, parentheses, pipes, `:=`. */
function tokenize(s: string): string[] {
  const toks: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)'|:=|=|\||\(|\)|,|[^\s|()",=`']+)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < s.length && (m = re.exec(s))) toks.push(m[1]!);
  if (s.slice(re.lastIndex).trim() !== "") throw new TemplateError(`template: bad syntax in {{${s}}} at ${JSON.stringify(s.slice(re.lastIndex).trim())}`);
  return toks;
}

function parsePipeline(toks: string[], where: string): Pipeline {
  let pos = 0;
  const pipe: Pipeline = { cmds: [] };
  const parseArg = (t: string): Arg => {
    if (t === "(") {
      const inner: string[] = [];
      let depth = 1;
      while (pos < toks.length) {
        const u = toks[pos++]!;
        if (u === "(") depth++;
        if (u === ")" && --depth === 0) break;
        inner.push(u);
      }
      if (depth !== 0) throw new TemplateError(`template: unclosed left paren in {{${where}}}`);
      const sub: Arg = { kind: "pipe", pipe: parsePipeline(inner, where) };
      // (x).Field
      if (pos < toks.length && toks[pos]!.startsWith(".") && toks[pos] !== ".") return { kind: "field", base: sub, path: toks[pos++]!.slice(1).split(".") };
      return sub;
    }
    if (t.startsWith('"')) return { kind: "lit", value: JSON.parse(t) };
    if (t.startsWith("`")) return { kind: "lit", value: t.slice(1, -1) };
    if (t.startsWith("'")) return { kind: "lit", value: (JSON.parse(`"${t.slice(1, -1)}"`) as string).codePointAt(0) };
    if (t === ".") return { kind: "dot" };
    if (t.startsWith(".")) {
      if (!/^(\.[A-Za-z_]\w*)+$/.test(t)) throw new TemplateError(`template: bad field ${t} in {{${where}}}`);
      return { kind: "field", base: null, path: t.slice(1).split(".") };
    }
    if (t.startsWith("$")) {
      const [name, ...path] = t.split(".");
      return { kind: "var", name: name!, path };
    }
    if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t) || /^0x[0-9a-fA-F]+$/.test(t)) return { kind: "lit", value: Number(t) };
    if (t === "true" || t === "false") return { kind: "lit", value: t === "true" };
    if (t === "nil") return { kind: "lit", value: null };
    if (/^[A-Za-z_]\w*$/.test(t)) {
      if (!(t in FUNCS)) throw new TemplateError(`template: function "${t}" not defined`);
      return { kind: "ident", name: t };
    }
    throw new TemplateError(`template: unexpected "${t}" in {{${where}}}`);
  };
  if (toks.length >= 2 && toks[0]!.startsWith("$") && (toks[1] === ":=" || toks[1] === "=")) {
    pipe.decl = toks[0];
    pos = 2;
  }
  let cmd: Command = [];
  while (pos < toks.length) {
    const t = toks[pos++]!;
    if (t === "|") {
      if (!cmd.length) throw new TemplateError(`template: missing command before | in {{${where}}}`);
      pipe.cmds.push(cmd);
      cmd = [];
      continue;
    }
    if (t === ")") throw new TemplateError(`template: unexpected right paren in {{${where}}}`);
    cmd.push(parseArg(t));
  }
  if (!cmd.length) throw new TemplateError(`template: missing value in {{${where}}}`);
  pipe.cmds.push(cmd);
  return pipe;
}

/** Parses a template into its tree; throws TemplateError naming what is wrong. */
export function parseTemplate(src: string): Node[] {
  const parts = lexActions(src);
  let i = 0;
  // returns the nodes up to an {{else...}} or {{end}}, and which one stopped it
  const block = (inside: string | null): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < parts.length) {
      const p = parts[i++]!;
      if ("text" in p) {
        nodes.push({ kind: "text", text: p.text });
        continue;
      }
      const a = p.action;
      if (a.startsWith("/*")) {
        if (!a.endsWith("*/")) throw new TemplateError("template: unclosed comment");
        continue;
      }
      const [word] = a.split(/\s+/, 1);
      if (word === "end" || word === "else") {
        if (!inside) throw new TemplateError(`template: unexpected {{${word}}}`);
        return { nodes, stop: a };
      }
      if (word === "if" || word === "with" || word === "range") nodes.push(control(word, a.slice(word.length).trim()));
      else if (word === "template" || word === "define" || word === "block" || word === "break" || word === "continue") throw new TemplateError(`template: {{${word}}} is not supported`);
      else nodes.push({ kind: "action", pipe: parsePipeline(tokenize(a), a) });
    }
    if (inside) throw new TemplateError(`template: unexpected EOF: {{${inside}}} has no {{end}}`);
    return { nodes, stop: "" };
  };
  const control = (word: "if" | "with" | "range", rest: string): Node => {
    if (!rest) throw new TemplateError(`template: missing value for ${word}`);
    let toks = tokenize(rest);
    const vars: string[] = [];
    if (word === "range") {
      const decl = toks.indexOf(":=");
      if (decl > 0) {
        vars.push(...toks.slice(0, decl).filter((t) => t !== ","));
        toks = toks.slice(decl + 1);
      }
    }
    const pipe = parsePipeline(toks, `${word} ${rest}`);
    const body = block(word);
    let elseNodes: Node[] = [];
    if (body.stop.startsWith("else")) {
      const tail = body.stop.slice(4).trim();
      if (tail.startsWith("if ") && word === "if") {
        elseNodes = [control("if", tail.slice(3).trim())]; // `else if` shares the outer {{end}}
      } else {
        if (tail) throw new TemplateError(`template: unexpected {{else ${tail}}}`);
        const after = block(word);
        if (after.stop !== "end") throw new TemplateError(`template: expected {{end}} after {{else}}`);
        elseNodes = after.nodes;
      }
    } else if (body.stop !== "end") throw new TemplateError(`template: unexpected {{${body.stop}}}`);
    return word === "range" ? { kind: "range", pipe, vars, body: body.nodes, else: elseNodes } : { kind: word, pipe, then: body.nodes, else: elseNodes };
  };
  return block(null).nodes;
}

// ---- values ------------------------------------------------------------------------------------

/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** How fmt's %v prints a value: slices `[a b]`, maps `map[k:v]`, nil `<nil>`. */
export function goString(v: unknown): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v);
    if (isMap(v)) keys.sort();
    const inner = keys.map((k) => (isMap(v) ? `${k}:${goString((v as any)[k])}` : goString((v as any)[k]))).join(" ");
    return isMap(v) ? `map[${inner}]` : `{${inner}}`;
  }
  return String(v);
}

/** Go's Printf verbs that scripts use: %s %v %d %q %x %f %t %%, with width and `-`. */
function printf(fmt: unknown, ...args: unknown[]): string {
  let n = 0;
  return String(fmt).replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([svdqxXftT%])/g, (_all, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === "%") return "%";
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case "d":
        s = typeof a === "number" ? String(Math.trunc(a)) : `%!d(${typeof a}=${goString(a)})`;
        break;
      case "q":
        s = JSON.stringify(goString(a));
        break;
      case "x":
      case "X":
        s = typeof a === "number" ? a.toString(16) : Buffer.from(goString(a)).toString("hex");
        if (verb === "X") s = s.toUpperCase();
        break;
      case "f":
        s = typeof a === "number" ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${goString(a)})`;
        break;
      case "T":
        s = a === null || a === undefined ? "<nil>" : Array.isArray(a) ? "[]interface {}" : typeof a === "number" ? (Number.isInteger(a) ? "int" : "float64") : typeof a === "boolean" ? "bool" : typeof a === "object" ? "map[string]interface {}" : "string";
        break;
      default:
        s = goString(a);
        if (prec !== undefined && verb === "s") s = s.slice(0, Number(prec));
    }
    if (width) {
      const w = Number(width);
      const pad = flags.includes("0") && !flags.includes("-") && verb !== "s" ? "0" : " ";
      s = flags.includes("-") ? s.padEnd(w) : s.padStart(w, pad);
    }
    return s;
  });
}

const cmp = (name: string, f: (a: any, b: any) => boolean) => (a: unknown, ...bs: unknown[]) => {
  if (bs.length === 0) throw new TemplateError(`template: ${name}: missing argument for comparison`);
  if (name !== "eq" && (typeof a !== typeof bs[0] || (typeof a !== "number" && typeof a !== "string"))) throw new TemplateError(`template: ${name}: incompatible types for comparison`);
  return name === "eq" ? bs.some((b) => f(a, b)) : f(a, bs[0]);
};

function lengthOf(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (typeof v === "object" && v !== null) return Object.keys(v).length;
  throw new TemplateError(`template: len of ${goString(v)}`);
}

function indexOf(v: unknown, ...keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === "string") {
      if (typeof k !== "number" || k < 0 || k >= cur.length) throw new TemplateError(`template: index out of range: ${goString(k)}`);
      cur = typeof cur === "string" ? cur.charCodeAt(k) : cur[k];
    } else if (typeof cur === "object" && cur !== null) {
      const got = (cur as any)[String(k)];
      cur = got === undefined && isMap(cur) ? "" : got; // a map's zero value (labels are strings)
    } else throw new TemplateError(`template: can't index item of type ${cur === null ? "nil" : typeof cur}`);
  }
  return cur;
}

const str = (v: unknown) => (typeof v === "string" ? v : goString(v));

/** strings.Title: each word's first letter upper-cased. */
const title = (s: unknown) => str(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());

const FUNCS: Record<string, (...a: any[]) => unknown> = {
  // docker/cli's template functions; json never escapes HTML and has no trailing newline
  json: (v: unknown) => JSON.stringify(v === undefined ? null : v) ?? "null",
  join: (list: unknown, sep: unknown) => {
    if (!Array.isArray(list)) throw new TemplateError(`template: join: wrong type for value; expected []string; got ${goString(list)}`);
    return list.map(str).join(str(sep));
  },
  split: (s: unknown, sep: unknown) => str(s).split(str(sep)),
  lower: (s: unknown) => str(s).toLowerCase(),
  upper: (s: unknown) => str(s).toUpperCase(),
  title,
  pad: (s: unknown, before: number, after: number) => " ".repeat(before) + str(s) + " ".repeat(after),
  truncate: (s: unknown, n: number) => [...str(s)].slice(0, n).join(""),
  // Go's builtins
  printf,
  print: (...a: unknown[]) => a.map(goString).reduce((acc, s, i) => acc + (i > 0 && typeof a[i] !== "string" && typeof a[i - 1] !== "string" ? " " : "") + s, ""),
  println: (...a: unknown[]) => a.map(goString).join(" ") + "\n",
  len: lengthOf,
  index: indexOf,
  slice: (v: unknown, i = 0, j?: number) => {
    if (typeof v !== "string" && !Array.isArray(v)) throw new TemplateError(`template: can't slice item of type ${typeof v}`);
    return v.slice(i, j);
  },
  not: (v: unknown) => !truth(v),
  and: (...a: unknown[]) => a.find((v) => !truth(v)) ?? a[a.length - 1],
  or: (...a: unknown[]) => a.find(truth) ?? a[a.length - 1],
  eq: cmp("eq", (a, b) => a === b),
  ne: cmp("ne", (a, b) => a !== b),
  lt: cmp("lt", (a, b) => a < b),
  le: cmp("le", (a, b) => a <= b),
  gt: cmp("gt", (a, b) => a > b),
  ge: cmp("ge", (a, b) => a >= b),
};

/** docker's header functions: each keeps the header intact (docker/cli templates.HeaderFunctions). */
const keepHeader = (v: unknown) => str(v);
const HEADER_FUNCS: Record<string, (...a: any[]) => unknown> = { ...FUNCS, json: keepHeader, join: keepHeader, split: keepHeader, lower: keepHeader, upper: keepHeader, title: keepHeader, pad: keepHeader, truncate: keepHeader };

// ---- execution ---------------------------------------------------------------------------------

interface Scope {
  vars: Map<string, unknown>;
  /** table headers: every field reads as its header */
  header?: (field: string) => string;
}

function field(base: unknown, path: string[], scope: Scope, args: unknown[]): unknown {
  if (scope.header) return scope.header(path[0]!);
  let cur = base;
  path.forEach((name, k) => {
    const last = k === path.length - 1;
    if (cur === null || cur === undefined) throw new TemplateError(`template: executing at <.${path.slice(0, k + 1).join(".")}>: nil pointer evaluating .${name}`);
    if (typeof cur !== "object") throw new TemplateError(`template: executing at <.${path.slice(0, k + 1).join(".")}>: can't evaluate field ${name} in type ${typeof cur}`);
    if (!(name in cur)) {
      if (isMap(cur)) {
        cur = undefined;
        return;
      }
      throw new TemplateError(`template: executing at <.${path.slice(0, k + 1).join(".")}>: can't evaluate field ${name}`);
    }
    const v = (cur as any)[name];
    if (typeof v === "function") cur = v.apply(cur, last ? args : []);
    else {
      if (last && args.length) throw new TemplateError(`template: executing at <.${name}>: ${name} has arguments but cannot be invoked as function`);
      cur = v;
    }
  });
  return cur;
}

function evalArg(a: Arg, dot: unknown, scope: Scope, args: unknown[] = []): unknown {
  switch (a.kind) {
    case "dot":
      return dot;
    case "lit":
      return a.value;
    case "field":
      return field(a.base ? evalArg(a.base, dot, scope) : dot, a.path, scope, args);
    case "var": {
      if (!scope.vars.has(a.name)) throw new TemplateError(`template: undefined variable: ${a.name}`);
      const v = scope.vars.get(a.name);
      return a.path.length ? field(v, a.path, scope, args) : v;
    }
    case "pipe":
      return evalPipeline(a.pipe, dot, scope);
    case "ident":
      return (scope.header ? HEADER_FUNCS : FUNCS)[a.name]!(...args);
  }
}

function evalPipeline(p: Pipeline, dot: unknown, scope: Scope): unknown {
  let value: unknown;
  p.cmds.forEach((cmd, k) => {
    const [head, ...rest] = cmd;
    const args = rest.map((a) => evalArg(a, dot, scope));
    if (k > 0) args.push(value);
    if (head!.kind === "ident" || head!.kind === "field" || (head!.kind === "var" && head!.path.length)) value = evalArg(head!, dot, scope, args);
    else {
      if (args.length) throw new TemplateError(`template: can't give argument to non-function ${goString(evalArg(head!, dot, scope))}`);
      value = evalArg(head!, dot, scope);
    }
  });
  if (p.decl) scope.vars.set(p.decl, value);
  return value;
}

function exec(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case "text":
        out.push(n.text);
        break;
      case "action": {
        const v = evalPipeline(n.pipe, dot, scope);
        if (!n.pipe.decl) out.push(goString(v));
        break;
      }
      case "if":
      case "with": {
        const v = evalPipeline(n.pipe, dot, scope);
        if (truth(v)) exec(n.then, n.kind === "with" ? v : dot, scope, out);
        else exec(n.else, dot, scope, out);
        break;
      }
      case "range": {
        const v = evalPipeline(n.pipe, dot, scope);
        if (scope.header) break;
        const entries: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : typeof v === "object" && v !== null
            ? Object.keys(v).sort().map((k) => [k, (v as any)[k]])
            : typeof v === "number"
              ? Array.from({ length: v }, (_, i) => [i, i])
              : v === null || v === undefined
                ? []
                : (() => {
                    throw new TemplateError(`template: range can't iterate over ${goString(v)}`);
                  })();
        if (!entries.length) exec(n.else, dot, scope, out);
        for (const [key, item] of entries) {
          if (n.vars.length === 1) scope.vars.set(n.vars[0]!, item);
          if (n.vars.length === 2) {
            scope.vars.set(n.vars[0]!, key);
            scope.vars.set(n.vars[1]!, item);
          }
          exec(n.body, item, scope, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  /** the template applied to one value */
  render(value: unknown): string;
  /** the template applied to table headers: each field prints `header(name)` */
  renderHeader(header: (field: string) => string): string;
}

/** Parses once; rendering throws TemplateError for a field that does not exist. */
export function compileTemplate(src: string): Template {
  const nodes = parseTemplate(src);
  return {
    render(value) {
      const out: string[] = [];
      exec(nodes, value, { vars: new Map([["$", value]]) }, out);
      return out.join("");
    },
    renderHeader(header) {
      const out: string[] = [];
      exec(nodes, {}, { vars: new Map([["$", {}]]), header }, out);
      return out.join("");
    },
  };
}
