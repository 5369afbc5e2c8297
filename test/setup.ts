// Preloaded by bun test (bunfig.toml): a global afterAll runs once, after every test file.
import { afterAll } from "bun:test";
import { rmSync } from "node:fs";
import { TEST_DATA_ROOT, TEST_ROOT } from "./roots";

afterAll(() => {
  rmSync(TEST_ROOT, { recursive: true, force: true });
  rmSync(TEST_DATA_ROOT, { recursive: true, force: true });
});
