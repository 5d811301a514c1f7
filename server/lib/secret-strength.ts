// Decides whether a secret is too weak to sign sessions with (THREATS.md 29: Superset and Redash shipped
// placeholder secrets that let anyone forge an admin cookie).

const MIN_LENGTH = 32;
/** Shannon estimate over the characters actually used; 32 random hex characters score about 118. */
const MIN_ENTROPY_BITS = 100;

const PLACEHOLDER_WORDS = [
  'changeme',
  'change-me',
  'change_me',
  'replaceme',
  'placeholder',
  'yoursecret',
  'your-secret',
  'secretkey',
  'example',
  'default',
  'password',
  'notasecret',
  'thisisasecret',
  'xxxxxxxx',
  'todo',
];

function shannonBits(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const length = [...value].length;
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / length;
    perChar -= p * Math.log2(p);
  }
  return perChar * length;
}

/** The shortest unit that, repeated, makes up the whole value ("abcabcabc" -> "abc"). */
function repeatingUnit(value: string): string {
  for (let size = 1; size <= value.length / 2; size++) {
    if (value.length % size === 0 && value.slice(0, size).repeat(value.length / size) === value) return value.slice(0, size);
  }
  return value;
}

/** Returns why the secret is refused, or undefined when it is acceptable. */
export function isWeakSecret(secret: string): string | undefined {
  if (secret.length < MIN_LENGTH) return `it is ${secret.length} characters long; at least ${MIN_LENGTH} are needed`;
  const unit = repeatingUnit(secret);
  if (unit.length < secret.length) return `it is "${unit.slice(0, 8)}" repeated`;
  const normalized = secret.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  const word = PLACEHOLDER_WORDS.find((w) => normalized.includes(w));
  if (word) return `it contains the placeholder "${word}"`;
  const bits = shannonBits(secret);
  if (bits < MIN_ENTROPY_BITS)
    return `it looks low in entropy (about ${Math.round(bits)} bits; at least ${MIN_ENTROPY_BITS} are needed)`;
  return undefined;
}
