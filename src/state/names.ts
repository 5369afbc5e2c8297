// Container names: docker's rule for what a name may be, and a generator for when none is given.
const VALID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateName(name: string): string | undefined {
  if (!VALID.test(name)) return `invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`;
  if (name.length > 128) return `invalid container name "${name}": longer than 128 characters`;
  if (/^[0-9a-f]{64}$/.test(name)) return `invalid container name "${name}": it looks like a container id`;
}

const ADJECTIVES = ["brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nifty", "proud", "quiet", "sharp", "tender", "vivid", "witty", "zen"];
const NOUNS = ["babbage", "curie", "darwin", "euler", "fermat", "gauss", "hopper", "kepler", "lovelace", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak"];

/** `adjective_scientist`, with a number appended when the plain one is taken. */
export function generateName(taken: (name: string) => boolean): string {
  const pick = <T,>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  for (let attempt = 0; ; attempt++) {
    const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}${attempt >= 5 ? attempt : ""}`;
    if (!taken(name)) return name;
  }
}
