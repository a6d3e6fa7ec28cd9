import { describe, expect, it } from 'vitest';
import { DECK_ID, fingerprint, MAX_CHOICE_CHARS, MAX_QUESTION_CHARS, parseChoices, parseDeck, QUESTIONS, WYR } from '../../src/play/deck';

describe('the question deck', () => {
  it('ships at least 150 questions, each unique and short', () => {
    expect(QUESTIONS.length).toBeGreaterThanOrEqual(150);
    const lower = QUESTIONS.map((q) => q.toLowerCase());
    expect(new Set(lower).size).toBe(QUESTIONS.length);
    for (const q of QUESTIONS) {
      expect(Array.from(q).length).toBeLessThanOrEqual(MAX_QUESTION_CHARS);
      expect(q.length).toBeGreaterThan(5);
      expect(q).toMatch(/[?]$/);
      expect(q).not.toMatch(/[<>]/);
    }
  });

  it('asks nothing that identifies a person', () => {
    const prying = /\b(where (do|did) you (live|work|study)|your (name|age|address|phone number|number|email|instagram|snapchat|school|employer|company|city|town|country)|how old|send (me )?(a )?(photo|pic)|what do you look like|are you single|boyfriend|girlfriend)\b/i;
    expect(QUESTIONS.filter((q) => prying.test(q))).toEqual([]);
    expect(WYR.flat().filter((q) => prying.test(q))).toEqual([]);
  });

  it('ships would-you-rather prompts with two short choices', () => {
    expect(WYR.length).toBeGreaterThanOrEqual(30);
    for (const [a, b] of WYR) {
      expect(a && b).toBeTruthy();
      expect(Array.from(a).length).toBeLessThanOrEqual(MAX_CHOICE_CHARS);
      expect(Array.from(b).length).toBeLessThanOrEqual(MAX_CHOICE_CHARS);
    }
    expect(new Set(WYR.map((p) => p.join('|').toLowerCase())).size).toBe(WYR.length);
  });

  it('parses skipping comments, blanks, repeats and over-long lines', () => {
    const long = 'x'.repeat(MAX_QUESTION_CHARS + 1) + '?';
    expect(parseDeck('# c\n\nOne?\r\n  Two?  \none?\n' + long + '\n')).toEqual(['One?', 'Two?']);
    expect(parseChoices('# c\nA | B\nA|B\nA | B | C\n | B\nC | D\na | b\n')).toEqual([
      ['A', 'B'],
      ['C', 'D'],
    ]);
  });

  it('fingerprints the deck so another version is told apart', () => {
    expect(DECK_ID).toMatch(/^[0-9a-f]{8}$/);
    expect(fingerprint(['a', 'b'])).not.toBe(fingerprint(['a', 'c']));
    expect(fingerprint([...QUESTIONS])).toBe(DECK_ID);
  });
});
