// The events log: one JSON line per event (docker's event message shape) in `<root>/events.log`,
// as podman's "file" events logger keeps them. Bounded: once the file passes MAX_BYTES it is
// renamed to `events.log.1` (the previous one is dropped), so at most twice that is kept.
//
// Emitting never fails the command that emits: any error (a full disk, a read-only root) drops the
// event. One open(O_APPEND) + fstat + write(2) + close: well under 0.2 ms. An O_APPEND write of one
// short line lands whole, so concurrent emitters never interleave within a line (write(2)).
import { wallClockParts } from "./clock";
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { runtimeRoot } from "./paths";

export type EventType = "container" | "image" | "volume" | "network";

export interface EventActor {
  id: string;
  attributes?: Record<string, string>;
}

/** One line of the log, as docker's API gives events (`docker events --format '{{json .}}'`). */
export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
}

/** Size at which the log rotates; $MYDOCKER_EVENTS_MAX_BYTES overrides (tests). */
const MAX_BYTES = 1 << 20;
const maxBytes = () => Number(process.env.MYDOCKER_EVENTS_MAX_BYTES) || MAX_BYTES;

export const eventsPath = () => join(runtimeRoot(), "events.log");
export const rotatedEventsPath = () => `${eventsPath()}.1`;

/** Nanoseconds since the epoch as decimal digits (too large for a double to keep exactly). */
function nowNanos(): string {
  const { ms, belowMs } = wallClockParts();
  return `${ms}${String(belowMs).padStart(6, "0")}`;
}

/** The JSON line of an event (exported for the tests). */
export function eventLine(type: EventType, action: string, actor: EventActor, nanos = nowNanos()): string {
  const attributes = actor.attributes ?? {};
  const time = Math.floor(Number(nanos.slice(0, -6)) / 1000);
  const legacy = type === "container" ? { status: action, id: actor.id, ...(attributes.image ? { from: attributes.image } : {}) } : {};
  const body = JSON.stringify({ ...legacy, Type: type, Action: action, Actor: { ID: actor.id, Attributes: attributes }, scope: "local", time });
  // timeNano written as digits: JSON numbers may be that long, JS numbers cannot hold them exactly
  return `${body.slice(0, -1)},"timeNano":${nanos}}\n`;
}

/** Records an event; never throws. */
export function emit(type: EventType, action: string, actor: EventActor): void {
  let fd = -1;
  try {
    const path = eventsPath();
    fd = openSync(path, "a", 0o600);
    if (fstatSync(fd).size >= maxBytes()) {
      closeSync(fd);
      fd = -1;
      renameSync(path, rotatedEventsPath()); // two rotating at once: the second renames a small file; harmless
      fd = openSync(path, "a", 0o600);
    }
    writeSync(fd, eventLine(type, action, actor));
  } catch {
    // dropped: an event must never fail the command (ENOSPC, EROFS, no root directory yet)
  } finally {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {}
    }
  }
}

/** The usual attributes of a container event: its labels (as docker adds them), name and image. */
export function containerActor(s: { id: string; name: string; image: string; labels?: Record<string, string> }, extra: Record<string, string> = {}): EventActor {
  return { id: s.id, attributes: { ...(s.labels ?? {}), image: s.image, name: s.name, ...extra } };
}
