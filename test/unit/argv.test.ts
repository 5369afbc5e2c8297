import { describe, expect, test } from "bun:test";
import { splitArgs, UsageError } from "../../src/cli/argv";
import { runArgs } from "../../src/commands/run";

describe("splitArgs (run's options stop at COMMAND)", () => {
  test("combined short flags and the command's own flags", () => {
    const s = splitArgs(["-ti", "/bin/ls", "-la", "/"], runArgs);
    expect(s.options).toEqual({ tty: true, interactive: true });
    expect(s.rest).toEqual(["/bin/ls", "-la", "/"]);
  });

  test("-it is the same as -ti, and flags after COMMAND are not ours", () => {
    const s = splitArgs(["-it", "sh", "-c", "echo a b", "-m", "5"], runArgs);
    expect(s.options).toEqual({ interactive: true, tty: true });
    expect(s.rest).toEqual(["sh", "-c", "echo a b", "-m", "5"]);
  });

  test("values: separate, inline with =, attached to a short flag", () => {
    const s = splitArgs(["-m", "100m", "--cpus=1.5", "-w/tmp", "--hostname", "box", "true"], runArgs);
    expect(s.options).toEqual({ memory: "100m", cpus: "1.5", workdir: "/tmp", hostname: "box" });
    expect(s.rest).toEqual(["true"]);
  });

  test("repeatable -e collects every value in order", () => {
    const s = splitArgs(["-e", "A=1", "--env", "B=2 3", "-e=C=", "env"], runArgs);
    expect(s.options.env).toEqual(["A=1", "B=2 3", "C="]);
  });

  test("the book's single-dash spellings", () => {
    const s = splitArgs(["-cpushare", "512", "-cpuset", "0", "top"], runArgs);
    expect(s.options).toEqual({ "cpu-shares": "512", "cpuset-cpus": "0" });
  });

  test("-- ends the options", () => {
    expect(splitArgs(["-i", "--", "-weird-name"], runArgs).rest).toEqual(["-weird-name"]);
  });

  test("--help is noticed only before COMMAND", () => {
    expect(splitArgs(["--help"], runArgs).help).toBe(true);
    expect(splitArgs(["sh", "--help"], runArgs).help).toBe(false);
  });

  test("unknown flags and missing values are usage errors", () => {
    expect(() => splitArgs(["--bogus", "sh"], runArgs)).toThrow(new UsageError("unknown flag: --bogus"));
    expect(() => splitArgs(["-x", "sh"], runArgs)).toThrow(UsageError);
    expect(() => splitArgs(["-m"], runArgs)).toThrow("flag needs an argument: -m");
  });
});
