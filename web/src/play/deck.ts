// The icebreaker deck and the "would you rather" prompts: plain text files
// shipped inside the bundle (imported as text), parsed once. Both strangers
// load the same files from our origin, so a card travels as its index.

import deckText from './deck.txt?raw';
import wyrText from './wyr.txt?raw';

export const MAX_QUESTION_CHARS = 140;
export const MAX_CHOICE_CHARS = 80;

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Questions, one a line; over-long lines and repeats (ignoring case) are dropped. */
export function parseDeck(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of lines(text)) {
    const key = l.toLowerCase();
    if (Array.from(l).length > MAX_QUESTION_CHARS || seen.has(key)) continue;
    seen.add(key);
    out.push(l);
  }
  return out;
}

/** "A | B" lines; anything without exactly two non-empty choices is dropped. */
export function parseChoices(text: string): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const l of lines(text)) {
    const parts = l.split(' | ').map((p) => p.trim());
    if (parts.length !== 2 || parts.some((p) => p === '' || Array.from(p).length > MAX_CHOICE_CHARS)) continue;
    const key = l.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([parts[0], parts[1]]);
  }
  return out;
}

/** A short fingerprint of a list (FNV-1a), so a card from another deck version is not misread. */
export function fingerprint(items: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const ch of items.join('\n')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export const QUESTIONS: readonly string[] = parseDeck(deckText);
export const WYR: readonly (readonly [string, string])[] = parseChoices(wyrText);
export const DECK_ID = fingerprint(QUESTIONS);
