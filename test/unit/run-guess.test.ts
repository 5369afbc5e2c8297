// The guess a foreground `run` makes from its bare argv, to spawn its init before the CLI loads
// (src/cli/run-guess.ts, src/engine/head-start.ts), against run's own parse of the same words:
// the guess may give up, but when it answers it must be what `run` decides, or the init spawned
// ahead is thrown away and every such start pays twice.
import { describe, expect, test } from "bun:test";
import { guessForegroundInit, RUN_BOOLEANS, RUN_OPTIONAL_VALUES } from "../../src/cli/run-guess";
import { splitArgs } from "../../src/cli/argv";
import { foregroundInitPlan, runArgs } from "../../src/commands/run";

/** run's decision for `argv` (the words after `mydocker`), or undefined where run would not spawn a foreground init. */
function realPlan(argv: string[]) {
  let i = 0;
  while (argv[i]?.startsWith("--")) i += argv[i]!.includes("=") ? 1 : 2; // global flags
  if (argv[i] !== "run") return undefined;
  try {
    const { options, rest, help } = splitArgs(argv.slice(i + 1), runArgs);
    if (help || rest.length === 0 || options.pid !== undefined) return undefined;
    const plan = foregroundInitPlan(options);
    return plan && { ...plan, trace: options.trace !== undefined };
  } catch {
    return undefined; // a bad command line: no plan (an init spawned ahead is ended at exit)
  }
}

const words = (line: string) => line.split(" ").filter(Boolean);

describe("the guess's flag table", () => {
  test("its flags without a value are run's booleans, aliases included", () => {
    const booleans = Object.entries(runArgs).filter(([, d]) => d.type === "boolean").flatMap(([name, d]) => [name, ...("alias" in d && d.alias ? [d.alias] : [])]);
    expect([...RUN_BOOLEANS].sort()).toEqual(booleans.sort());
  });
  test("its flags with an optional value are run's [=...] ones", () => {
    const optional = Object.entries(runArgs).filter(([, d]) => "valueHint" in d && d.valueHint?.startsWith("[=")).map(([name]) => name);
    expect([...RUN_OPTIONAL_VALUES].sort()).toEqual(optional.sort());
  });
});

describe("a guess agrees with run's parse", () => {
  const answered = [
    "run --rm /bin/true",
    "run --rm --network none /bin/true",
    "run --rm --net=none busybox true",
    "run --rm --network host /bin/true",
    "run --rm --network container:web /bin/true",
    "run --rm --network mynet /bin/true",
    "run --rm --network default /bin/true",
    "run -ti busybox sh",
    "run -it --rm busybox sh",
    "run -t busybox sh",
    "run -i busybox cat",
    "run --interactive --tty=false busybox cat",
    "run --tty=true -i busybox sh",
    "run -e A=1 -v /tmp:/x -w /x --name web busybox ls -la",
    "run --trace --rm --network none /bin/true",
    "run --trace=json --rm /bin/true",
    "run -a stdout --rm /bin/true",
    "run --privileged --read-only --init -P busybox true",
    "run --sig-proxy=false busybox true",
    "--root /tmp/r --data-root=/tmp/d run --rm /bin/true",
    "--log-level debug run -ti busybox sh",
    "run --rm -- /bin/true",
    "run --memory 100m --cpus 1.5 -h box -u 1000 busybox id",
  ];
  for (const line of answered) {
    test(line, () => {
      const guess = guessForegroundInit(words(line));
      expect(guess).toBeDefined();
      expect(guess).toEqual(realPlan(words(line)));
    });
  }

  // Gives up (no init ahead; run spawns its own, as before): detached, another PID namespace,
  // help, no command, spellings it does not read, other commands.
  const unanswered = [
    "run -d busybox sleep 1",
    "run -dit busybox sh",
    "run --detach=true busybox true",
    "run --pid host busybox true",
    "run --help",
    "run --rm",
    "run --rm --name",
    "run -m100m busybox true",
    "run -cpushare 512 busybox true",
    "run --detach=maybe busybox true",
    "create busybox true",
    "exec web true",
    "--version",
    "--bogus run /bin/true",
    "",
  ];
  for (const line of unanswered) {
    test(`gives up: ${line || "(nothing)"}`, () => {
      expect(guessForegroundInit(words(line))).toBeUndefined();
    });
  }

  test("a bad flag still gets a guess (the init spawned on it is ended at exit), and the parse refuses it", () => {
    const line = words("run --bogus x /bin/true");
    expect(guessForegroundInit(line)).toBeDefined();
    expect(realPlan(line)).toBeUndefined();
  });
});
