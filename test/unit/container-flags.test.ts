// The parsers behind run/create/exec's docker flags: env and label files (docker/cli's format),
// -a, --stop-signal, --stop-timeout, --platform, --pull. Each bad value is one FlagError line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envFromFlags, labelsFromFlags, readKeyValueFile } from "../../src/cli/kv-file";
import { attachedStreams, checkPlatform, checkPull, parsePlatform, parseStopTimeout, signalName } from "../../src/cli/container-flags";
import { FlagError } from "../../src/errors";

let dir: string;
const file = (name: string, content: string | Buffer) => {
  writeFileSync(join(dir, name), content);
  return join(dir, name);
};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mydocker-kvfile-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("env and label files", () => {
  test("a BOM, CRLF line ends, comments, indented lines, '=' in values, bare keys", () => {
    const f = file("a.env", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("A=1\r\n# no\r\n\t B=x=y \r\nBARE\r\n\r\n")]));
    expect(readKeyValueFile(f, "--env-file")).toEqual(["A=1", "B=x=y ", "BARE"]);
    expect(readKeyValueFile(f, "--env-file", (k) => (k === "BARE" ? "v" : undefined))).toEqual(["A=1", "B=x=y ", "BARE=v"]);
    expect(readKeyValueFile(f, "--env-file", () => undefined)).toEqual(["A=1", "B=x=y "]);
  });

  test("env: files in order, then -e (bare -e copies the caller's variable)", () => {
    process.env.MYDOCKER_KV_TEST = "caller";
    const one = file("one.env", "A=1\nB=1\n");
    const two = file("two.env", "B=2\n");
    expect(envFromFlags([one, two], ["C=3", "MYDOCKER_KV_TEST", "MYDOCKER_KV_UNSET"])).toEqual(["A=1", "B=1", "B=2", "C=3", "MYDOCKER_KV_TEST=caller"]);
    delete process.env.MYDOCKER_KV_TEST;
  });

  test("labels: the file, then -l; a later key wins; a bare key has an empty value", () => {
    const f = file("labels", "tier=db\nflag\n");
    expect(labelsFromFlags([f], ["tier=web", "x=a=b"])).toEqual({ tier: "web", flag: "", x: "a=b" });
  });

  test("bad files are one-line flag errors", () => {
    expect(() => readKeyValueFile(join(dir, "missing"), "--env-file")).toThrow(new FlagError(`invalid --env-file ${join(dir, "missing")}: no such file`));
    expect(() => readKeyValueFile(dir, "--label-file")).toThrow(`invalid --label-file ${dir}: is a directory`);
    expect(() => readKeyValueFile(file("bad.env", "OK=1\n=v\n"), "--env-file")).toThrow("line 2: no variable name");
    expect(() => readKeyValueFile(file("sp.env", "A B=1\n"), "--env-file")).toThrow('line 1: variable "A B" contains whitespace');
    expect(() => readKeyValueFile(file("bin.env", Buffer.from([0x41, 0x3d, 0xff, 0x0a])), "--env-file")).toThrow("not valid UTF-8");
    expect(() => labelsFromFlags([], ["=x"])).toThrow('invalid label "=x": empty name');
  });
});

describe("flag values", () => {
  test("-a: stdout and stderr by default; only the named ones otherwise; stdin follows -i", () => {
    expect(attachedStreams([], false)).toEqual({ stdin: false, stdout: true, stderr: true });
    expect(attachedStreams(["STDOUT"], true)).toEqual({ stdin: true, stdout: true, stderr: false });
    expect(attachedStreams(["stdin"], false)).toEqual({ stdin: false, stdout: false, stderr: false });
    expect(() => attachedStreams(["tty"], false)).toThrow(FlagError);
  });

  test("--stop-signal: names with or without SIG, any case, numbers", () => {
    expect(signalName("usr1", "--stop-signal")).toBe("SIGUSR1");
    expect(signalName("SIGHUP", "--stop-signal")).toBe("SIGHUP");
    expect(signalName("15", "--stop-signal")).toBe("SIGTERM");
    expect(() => signalName("65", "--stop-signal")).toThrow("signals are 1 to 64");
    expect(() => signalName("SIGFOO", "--stop-signal")).toThrow('invalid --stop-signal "SIGFOO": no such signal');
  });

  test("--stop-timeout: whole seconds or -1", () => {
    expect(parseStopTimeout("0")).toBe(0);
    expect(parseStopTimeout("-1")).toBe(-1);
    for (const bad of ["-2", "1.5", "", "ten"]) expect(() => parseStopTimeout(bad)).toThrow(FlagError);
  });

  test("--platform: os[/arch[/variant]], lower-cased, x86_64 and aarch64 as OCI names", () => {
    expect(parsePlatform("Linux/X86_64")).toEqual({ os: "linux", architecture: "amd64", variant: undefined });
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(() => parsePlatform("linux//")).toThrow(FlagError);
    expect(() => checkPlatform(parsePlatform("linux"), { os: "linux", architecture: "amd64" }, "x")).not.toThrow();
    expect(() => checkPlatform(parsePlatform("linux/arm64"), { os: "linux", architecture: "amd64" }, "image with reference a was found but")).toThrow(
      "image with reference a was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64",
    );
  });

  test("--pull: never and missing pass; always and others are refused", () => {
    for (const ok of [undefined, "never", "missing"]) expect(() => checkPull(ok)).not.toThrow();
    expect(() => checkPull("always")).toThrow("there is no registry to pull from");
    expect(() => checkPull("newer")).toThrow(`invalid pull option: 'newer'`);
  });
});
