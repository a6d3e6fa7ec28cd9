// Interest normalisation, mirroring PROTOCOL.md's rules for `join`:
// each trimmed, lower-cased, 1 to 32 characters; duplicates dropped; at most 5.

export const MAX_INTERESTS = 5;
export const MAX_INTEREST_LENGTH = 32;

/**
 * Normalises one interest as typed by a person. Returns null when nothing
 * usable is left. Control characters are removed, inner runs of whitespace
 * become one space, and anything past 32 characters (code points) is cut.
 */
export function normalizeInterest(raw: string): string | null {
  // eslint-disable-next-line no-control-regex
  const cleaned = raw.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
  if (cleaned.length === 0) return null;
  const cut = Array.from(cleaned).slice(0, MAX_INTEREST_LENGTH).join('').trim();
  return cut.length > 0 ? cut : null;
}

/** Normalises a list: drops empties and duplicates, keeps order, at most 5. */
export function normalizeInterests(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of raw) {
    const n = normalizeInterest(r);
    if (n !== null && !out.includes(n)) out.push(n);
    if (out.length === MAX_INTERESTS) break;
  }
  return out;
}

/** Splits pasted or typed text on commas (and newlines) into candidate interests. */
export function splitInterestInput(text: string): string[] {
  return text.split(/[,\n;]/);
}
