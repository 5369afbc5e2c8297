/** A container id: 64 hex characters, like docker's; the first 12 are the short id. */
export function newContainerId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

export const shortId = (id: string) => id.slice(0, 12);
