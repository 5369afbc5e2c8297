// What ties a foreground container process to the `mydocker` process the user started: signals
// sent to us are passed on to it, and with -t our terminal is relayed to its pseudo-terminal.
import { closeSync } from "node:fs";
import { relayTerminal, type TerminalRelay } from "./tty-relay";
import { normalJitPolicy } from "../jit-policy";

/** Signals that `mydocker run`/`exec` pass on instead of dying of them. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

export class Attachment {
  private target?: { kill(signal: NodeJS.Signals): void };
  private relay?: TerminalRelay;
  private terminal?: number;
  /** signals that came before there was a process to pass them to */
  private readonly early: NodeJS.Signals[] = [];
  private readonly handlers = FORWARDED.map((sig) => [sig, () => (this.target ? this.target.kill(sig) : this.early.push(sig))] as const);

  /** Starts forwarding at once, so a signal that arrives while the container starts is not fatal. */
  constructor() {
    for (const [sig, fn] of this.handlers) process.on(sig, fn);
  }

  /**
   * The process to forward to, and the master of its terminal if it has one (`tap` sees the
   * terminal's output as it is relayed).
   */
  connect(target: { kill(signal: NodeJS.Signals): void }, terminal: number | undefined, interactive: boolean, tap?: (chunk: Uint8Array) => void): void {
    this.target = target;
    for (const sig of this.early.splice(0)) target.kill(sig);
    if (terminal === undefined) return;
    this.terminal = terminal;
    normalJitPolicy(); // the relay runs as long as the container, for every keystroke and line
    this.relay = relayTerminal(terminal, { ...(interactive ? { stdin: process.stdin } : {}), tap });
  }

  /** After the process exited: the rest of its terminal output, our terminal back as it was. */
  async close(): Promise<void> {
    try {
      await this.relay?.done;
    } finally {
      this.relay?.restore();
      if (this.terminal !== undefined) closeSync(this.terminal);
      for (const [sig, fn] of this.handlers) process.off(sig, fn);
    }
  }
}
