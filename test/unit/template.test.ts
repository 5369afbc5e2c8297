// The Go template subset behind --format, checked against what Go's text/template and docker's
// CLI print for the same templates (outputs from docker's documentation where it gives them).
import { describe, expect, test } from "bun:test";
import { compileTemplate, goMap, TemplateError } from "../../src/format/template";
import { formatRows, tabulate } from "../../src/format";

const run = (src: string, v: unknown) => compileTemplate(src).render(v);

describe("fields and functions", () => {
  const c = { ID: "4a3b2c1d0e9f", Names: "web", State: { Pid: 42, Running: true, Status: "running" }, Mounts: ["/a", "/b"], Labels: goMap({ "com.example.vendor": "ACME", b: "2" }), Size: 0 };
  test.each([
    ["{{.Names}}", "web"],
    ["{{.State.Pid}}", "42"],
    ["{{.Names | upper}}", "WEB"],
    ["{{upper .Names}}:{{lower \"AbC\"}}", "WEB:abc"],
    ['{{title "hello docker world"}}', "Hello Docker World"],
    ['{{printf "%-6s|%5d|%q" .Names .State.Pid .ID}}', 'web   |   42|"4a3b2c1d0e9f"'],
    ['{{join .Mounts ","}}', "/a,/b"],
    ["{{len .Mounts}}", "2"],
    ['{{index .Labels "com.example.vendor"}}', "ACME"],
    ['{{index .Labels "missing"}}', ""],
    ["{{.Labels.missing}}", "<no value>"],
    ["{{index .Mounts 1}}", "/b"],
    ["{{json .State}}", '{"Pid":42,"Running":true,"Status":"running"}'],
    ["{{json .Names}}", '"web"'],
    ["{{.Mounts}}", "[/a /b]"],
    ["{{.Labels}}", "map[b:2 com.example.vendor:ACME]"],
    ["{{range .Mounts}}<{{.}}>{{end}}", "</a></b>"],
    ["{{range $i, $m := .Mounts}}{{$i}}={{$m}} {{end}}", "0=/a 1=/b "],
    ["{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "b=2;com.example.vendor=ACME;"],
    ["{{range .Nothing}}x{{else}}empty{{end}}", null],
    ["{{if .State.Running}}up{{else}}down{{end}}", "up"],
    ["{{if .Size}}big{{else if eq .Names \"web\"}}web{{else}}other{{end}}", "web"],
    ["{{if and .State.Running (gt .State.Pid 1)}}yes{{end}}", "yes"],
    ["{{if not .Size}}zero{{end}}", "zero"],
    ["{{with .State}}{{.Status}}{{end}}", "running"],
    ["{{$n := .Names}}{{$n}}-{{$.ID}}", "web-4a3b2c1d0e9f"],
    ["a  {{- .Names -}}  b", "awebb"],
    ["{{/* a comment */}}x", "x"],
    ['{{split "a:b" ":"}}', "[a b]"],
    ['{{truncate .ID 4}}{{pad "x" 1 2}}|', "4a3b x  |"],
    ['{{(index .Mounts 0) | printf "%s!"}}', "/a!"],
    ["{{.State.Pid | printf \"%05d\"}}", "00042"],
  ])("%s", (src, want) => {
    if (want === null) return void expect(() => run(src, c)).toThrow(/can't evaluate field Nothing/);
    expect(run(src, c)).toBe(want);
  });

  test("{{json .}} is the whole value without HTML escaping or a newline", () => {
    expect(run("{{json .}}", { A: "<&>", B: [1, 2] })).toBe('{"A":"<&>","B":[1,2]}');
  });

  test("methods take arguments: {{.Label \"k\"}}", () => {
    expect(run('{{.Label "k"}}', { Label: (k: string) => `v-${k}` })).toBe("v-k");
  });
});

describe("errors name what is wrong", () => {
  test.each([
    ["{{.Nope}}", /can't evaluate field Nope/],
    ["{{.State.Nope}}", /<\.State\.Nope>: can't evaluate field Nope/],
    ["{{.Names", /unclosed action/],
    ["{{if .Names}}x", /has no \{\{end\}\}/],
    ["{{end}}", /unexpected \{\{end\}\}/],
    ["{{nosuchfunc .Names}}", /function "nosuchfunc" not defined/],
    ["{{$x}}", /undefined variable: \$x/],
    ["{{.Names .ID}}", /cannot be invoked as function/],
    ["{{join .Names \",\"}}", /join: wrong type/],
    ["{{index .Mounts 5}}", /index out of range/],
  ])("%s", (src, re) => {
    const c = { Names: "web", ID: "x", State: {}, Mounts: [] };
    expect(() => run(src, c)).toThrow(TemplateError);
    expect(() => run(src, c)).toThrow(re);
  });
});

describe("docker's --format modes", () => {
  const rows = [
    { id: "4a3b2c1d0e9f", name: "web" },
    { id: "0123456789ab", name: "a-much-longer-name" },
  ];
  const listing = { defaultFormat: "table {{.ID}}\\t{{.Names}}", headers: { ID: "CONTAINER ID", Names: "NAMES" }, view: (r: (typeof rows)[0]) => ({ ID: r.id, Names: r.name }) };
  test("table: docker's header from the field names, columns 3 spaces apart", () => {
    // docker ps --format "table {{.ID}}\t{{.Names}}"
    expect(formatRows("table {{.ID}}\\t{{.Names}}", rows, listing)).toEqual(["CONTAINER ID   NAMES", "4a3b2c1d0e9f   web", "0123456789ab   a-much-longer-name"]);
    expect(formatRows(undefined, rows, listing)).toEqual(formatRows("table", rows, listing));
  });
  test("a plain template prints once per row, no header", () => {
    expect(formatRows("{{.ID}}: {{.Names}}", rows, listing)).toEqual(["4a3b2c1d0e9f: web", "0123456789ab: a-much-longer-name"]);
  });
  test("json: one object per line", () => {
    expect(formatRows("json", rows.slice(0, 1), listing)).toEqual(['{"ID":"4a3b2c1d0e9f","Names":"web"}']);
  });
  test("the header functions keep the header intact, as docker's", () => {
    expect(formatRows("table {{.Names | lower}}\\t{{json .ID}}", rows.slice(0, 1), listing)).toEqual(["NAMES     CONTAINER ID", 'web       "4a3b2c1d0e9f"']);
  });
  test("tabwriter: at least 10 wide (docker volume ls: DRIVER    VOLUME NAME)", () => {
    expect(tabulate([["DRIVER", "VOLUME NAME"], ["local", "v1"]])).toEqual(["DRIVER    VOLUME NAME", "local     v1"]);
  });
  test("a bad template fails before anything is printed", () => {
    expect(() => formatRows("{{.Nope}}", rows, listing)).toThrow(TemplateError);
    expect(() => formatRows("{{.Nope}}", [], listing)).not.toThrow(); // docker: nothing to execute
  });
});
