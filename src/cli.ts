#!/usr/bin/env bun
// Entry point of the mydocker executable. `mydocker init` is the container's init (spawned by
// mydocker itself, never typed by users); it loads nothing but what it needs, since every
// container start pays for it.
const argv = process.argv.slice(2);
if (argv[0] === "init") {
  (await import("./init/init")).main();
} else {
  await (await import("./cli/main")).main(argv);
}
