// Container records read from disk are checked, never trusted: one broken state.json must neither
// break every command (a missing field) nor hide its container (a truncated, garbage or symlinked
// file). Runs on a runtime root of its own; no container is started.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mknod, S_IFIFO } from "../../ffi/fs";
import { createContainerRecord, findContainer, listStates, readRecord, readState, stateProblem, updateState, type ContainerState } from "../../src/state/store";
import type { Spec } from "../../src/spec";

let root: string;
const saved = process.env.MYDOCKER_ROOT;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "mydocker-state-"));
  process.env.MYDOCKER_ROOT = root;
});
afterAll(() => {
  process.env.MYDOCKER_ROOT = saved;
  if (saved === undefined) delete process.env.MYDOCKER_ROOT;
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  for (const e of readdirSync(root)) rmSync(join(root, e), { recursive: true, force: true });
});

let seq = 0;
const newId = () => (++seq).toString(16).padStart(64, "0");

function sound(id: string, name: string): ContainerState {
  return {
    id, name, status: "exited", oomKilled: false, created: new Date(Date.UTC(2024, 0, 1, 0, 0, seq)).toISOString(), command: ["true"],
    image: "/rootfs", rootfs: "/rootfs", detached: false, autoRemove: false, cgroup: { selfCgroup: "0::/\n" }, bootId: "b", exitCode: 0,
  };
}

/** A container directory with `state` written as state.json (text as is when a string). */
function record(id: string, state: unknown): void {
  mkdirSync(join(root, id));
  writeFileSync(join(root, id, "state.json"), typeof state === "string" ? state : JSON.stringify(state));
}

describe("stateProblem: the fields the code reads", () => {
  const id = "f".repeat(64);
  const cases: [string, unknown, string | undefined][] = [
    ["a sound record", sound(id, "a"), undefined],
    ["an array", [1, 2, 3], "state.json is not a JSON object"],
    ["null", null, "state.json is not a JSON object"],
    ["another id", { ...sound(id, "a"), id: "x" }, 'state.json names another container id ("x")'],
    ["no created", { id, name: "garb", status: "running" }, 'state.json: "created" is missing'],
    ["an unknown status", { ...sound(id, "a"), status: "dead" }, 'state.json: "status" is not one of created, running, paused, exited'],
    ["a command that is not a list", { ...sound(id, "a"), command: "sh" }, 'state.json: "command" is not a list of strings'],
    ["a cgroup without selfCgroup", { ...sound(id, "a"), cgroup: {} }, 'state.json: "cgroup" is not { selfCgroup, parent? }'],
    ["a pid that is a string", { ...sound(id, "a"), pid: "12" }, 'state.json: "pid" is not a number'],
    ["a created that is no date", { ...sound(id, "a"), created: "yesterday" }, 'state.json: "created" is not a date'],
  ];
  for (const [what, raw, problem] of cases) test(what, () => expect(stateProblem(raw, id)).toBe(problem));
});

describe("a broken record is a dead container, not an error and not nothing", () => {
  const broken: [string, (id: string) => void, string, string | ((id: string) => string)][] = [
    ["lacking fields", (id) => record(id, { id, name: "garb", status: "running" }), "garb", 'state.json: "created" is missing'],
    ["a JSON array", (id) => record(id, "[1,2,3]"), "", "state.json is not a JSON object"],
    ["0 bytes", (id) => record(id, ""), "", "state.json is empty"],
    ["garbage", (id) => record(id, "\u0000{garbage"), "", "state.json is not valid JSON"],
    ["missing", (id) => mkdirSync(join(root, id)), "", "state.json is missing"],
    ["a symlink to a sound record", (id) => {
      mkdirSync(join(root, id));
      writeFileSync(join(root, "elsewhere.json"), JSON.stringify(sound(id, "hijack")));
      symlinkSync(join(root, "elsewhere.json"), join(root, id, "state.json"));
    }, "", "state.json is a symlink"],
    ["a FIFO (must not block)", (id) => {
      mkdirSync(join(root, id));
      mknod(join(root, id, "state.json"), S_IFIFO | 0o600);
    }, "", "state.json is not a regular file"],
    ["a directory that is a symlink", (id) => {
      mkdirSync(join(root, "real"));
      writeFileSync(join(root, "real", "state.json"), JSON.stringify(sound(id, "hijack")));
      symlinkSync(join(root, "real"), join(root, id));
    }, "", (id) => `the container's directory ${root}/${id} is a symlink`],
  ];
  for (const [what, make, name, reason] of broken) {
    test(what, () => {
      const good = newId();
      record(good, sound(good, "good"));
      const id = newId();
      make(id);
      const all = listStates(); // does not throw, lists both
      expect(all.map((s) => s.id).sort()).toEqual([good, id].sort());
      const dead = readRecord(id)!;
      expect(dead.status).toBe("dead");
      expect(dead.name).toBe(name);
      expect(dead.error).toBe(typeof reason === "string" ? reason : reason(id));
      expect(typeof dead.created).toBe("string");
      expect(readState(id)).toBeUndefined(); // nothing acts on it as if it were sound
      expect(updateState(id, () => ({ status: "exited" }))).toBeUndefined(); // nor repairs it with placeholders
      expect(findContainer(id).status).toBe("dead");
      expect(readRecord(good)!.status).toBe("exited");
    });
  }

  test("its readable name stays taken; an unreadable one frees the name but the id stays", () => {
    const a = newId();
    record(a, { id: a, name: "garb", status: "running" });
    const spec = {} as Spec;
    expect(() => createContainerRecord({ ...sound(newId(), "x"), name: "garb" }, spec)).toThrow(`the container name "garb" is already in use by container ${a.slice(0, 12)}`);
    const b = newId();
    record(b, "");
    expect(() => createContainerRecord({ ...sound(b, "y") }, spec)).toThrow(/cannot record the container in .*: (ENOTEMPTY|EEXIST)/);
    const c = newId();
    expect(createContainerRecord({ ...sound(c, "z") }, spec).name).toBe("z");
  });

  test("a removed container is nothing at all", () => {
    expect(readRecord(newId())).toBeUndefined();
    expect(existsSync(join(root, "x"))).toBe(false);
  });
});

describe("a start killed half-way leaves nothing unseen", () => {
  test("a record is staged in .new-<id>-<pid> and renamed into place; the next start sweeps stagings whose writer is gone", () => {
    const dead = Bun.spawnSync(["true"]).pid; // a pid that has exited
    const stale = join(root, `.new-${newId()}-${dead}`);
    mkdirSync(stale);
    writeFileSync(join(stale, "config.json"), "{}");
    const live = join(root, `.new-${newId()}-${process.pid}`); // a start in progress (ours)
    mkdirSync(live);
    const id = newId();
    createContainerRecord(sound(id, "fresh"), { ociVersion: "1.2.0" } as Spec);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(readdirSync(join(root, id)).sort()).toEqual([".reserve", "config.json", "state.json"]);
    expect(listStates().map((s) => s.id)).toEqual([id]);
  });
});

describe("an orphan is judged on the record as it is, not as it was read", () => {
  test("a copy read while `created`, whose starter has exited since, is no orphan once the record says running", () => {
    const { bootId, processStartTime } = require("../../src/state/proc") as typeof import("../../src/state/proc");
    const { isOrphaned } = require("../../src/state/live") as typeof import("../../src/state/live");
    const starter = Bun.spawnSync(["true"]).pid; // the `run -d` that reported and exited
    const id = newId();
    const asRead: ContainerState = { ...sound(id, "racy"), status: "created", exitCode: undefined, bootId: bootId(), monitorPid: starter, monitorStartTime: 1 };
    // meanwhile its monitor (this process, alive) recorded it running
    record(id, { ...asRead, status: "running", pid: process.pid, pidStartTime: processStartTime(process.pid), monitorPid: process.pid, monitorStartTime: processStartTime(process.pid) });
    expect(isOrphaned(asRead)).toBe(false);
    // the same copy when the record still says so: its starter is gone, nobody will start it
    rmSync(join(root, id), { recursive: true });
    record(id, asRead);
    expect(isOrphaned(asRead)).toBe(true);
  });
});
