// mydocker's errors, in one place. Every message is one line that names what failed and why, in
// crun's shape — verb `object`: reason — e.g. `mount /proc: EPERM`, `rmdir <dir>: EBUSY`,
// `No such container: web`. Callers add context in front; they never replace the reason.
// (Failed libc calls are ffi/errno.ts's SyscallError, in the same shape: `pivot_root: EINVAL`.)

/** The user asked for something wrong (a flag, a value, a state): nothing was done. Exit 1. */
export class UsageError extends Error {}

/**
 * A command line that does not parse: an unknown flag or command, a missing value, a wrong number
 * of arguments, a --format that is no template. docker's CLI exits 125 for these, for every
 * command; failures of the work itself exit 1 (`docker rm nosuch`).
 */
export class FlagError extends UsageError {}

/** A value that does not parse (`--memory 10x`). */
export class InvalidValue extends FlagError {}

/** A `--format` template that does not parse or does not execute: docker's "template parsing error" (src/format/template.ts). */
export class TemplateError extends UsageError {}

/** The state store refused (a name in use, a record that cannot be written). */
export class StateError extends Error {}

export class NoSuchContainer extends Error {
  constructor(ref: string) {
    super(`No such container: ${ref}`);
  }
}

/** The container's init never reached the user's command: `code` is 125 (runtime), 126 or 127. */
export class StartError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** The OCI command line refused (runc's messages where engines match them). */
export class OciError extends Error {}
