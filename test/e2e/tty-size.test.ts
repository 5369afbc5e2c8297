// Issue: the command of `run -ti` / `exec -ti` used to start before its terminal had a size (0x0
// in most quick starts). The size now travels in the config (process.consoleSize) and the init
// sets it on the slave before execve. Each run below is a fresh container whose command reads its
// size at once; every one of them must see the caller's 24x80.
import { expect, test } from "bun:test";
import { checkHostAroundEachTest, mydocker, MYDOCKER, testEnv } from "./helpers";

checkHostAroundEachTest();

// 200 on the host (~6 s); in `make test-vm`'s emulated guest a start takes ~0.5 s, so 50 there
// keep the test well inside its time (vm/init sets MYDOCKER_TEST_IN_VM)
const RUNS = process.env.MYDOCKER_TEST_IN_VM ? 50 : 200;

/** Runs `loop` (a shell loop of mydocker calls) on one 24x80 terminal made by script(1). */
async function onTerminal(loop: string): Promise<string[]> {
  const proc = Bun.spawn(["script", "-qec", `stty rows 24 cols 80; ${loop}`, "/dev/null"], {
    stdin: "pipe", // kept open (like `sleep 2 |`) until the loop is done
    stdout: "pipe",
    env: { ...testEnv(), TERM: "dumb" },
    timeout: 110_000,
  });
  const output = await new Response(proc.stdout).text();
  proc.stdin.end();
  expect(await proc.exited).toBe(0);
  return output.replace(/\r/g, "").split("\n").filter((l) => l.startsWith("size:"));
}

test(`run -ti: the command sees the caller's window size at its start, ${RUNS} times out of ${RUNS}`, async () => {
  const sizes = await onTerminal(`for i in $(seq ${RUNS}); do ${MYDOCKER} run -t -i --rm --network none /bin/sh -c 'echo size:$(stty size)' || exit 1; done`);
  expect(sizes).toEqual(Array(RUNS).fill("size:24 80"));
}, 120_000);

test(`exec -ti: the same, ${RUNS} times out of ${RUNS}`, async () => {
  expect((await mydocker(["run", "-d", "--name", "tty-size", "sleep", "300"])).code).toBe(0);
  const sizes = await onTerminal(`for i in $(seq ${RUNS}); do ${MYDOCKER} exec -t -i tty-size /bin/sh -c 'echo size:$(stty size)' || exit 1; done`);
  expect(sizes).toEqual(Array(RUNS).fill("size:24 80"));
}, 120_000);
