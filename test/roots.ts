// The tests' own state and data roots, so that no test touches /run/mydocker or /var/lib/mydocker.
// Made once per `bun test` run; test/setup.ts (preloaded) removes them after the last test file
// (bun test runs no process "exit" handlers).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TEST_ROOT = mkdtempSync(join(tmpdir(), "mydocker-test-root-"));
export const TEST_DATA_ROOT = mkdtempSync(join(tmpdir(), "mydocker-test-data-"));
