import { describe, expect, it } from 'vitest';
import { normalizeInterest, normalizeInterests, splitInterestInput } from '../src/interests';

describe('interests', () => {
  it('trims, lower-cases and collapses whitespace', () => {
    expect(normalizeInterest('  Board   GAMES ')).toBe('board games');
    expect(normalizeInterest('\tMusic\n')).toBe('music');
  });

  it('refuses empty input', () => {
    expect(normalizeInterest('')).toBeNull();
    expect(normalizeInterest('   ')).toBeNull();
    expect(normalizeInterest('\u0000\u0001')).toBeNull();
  });

  it('cuts to 32 characters, counting code points', () => {
    expect(normalizeInterest('a'.repeat(40))).toBe('a'.repeat(32));
    const emoji = '🎸'.repeat(40);
    expect(Array.from(normalizeInterest(emoji)!)).toHaveLength(32);
  });

  it('drops duplicates and keeps at most five', () => {
    expect(normalizeInterests(['Music', 'music ', 'films', '', 'a', 'b', 'c', 'd'])).toEqual(['music', 'films', 'a', 'b', 'c']);
  });

  it('splits typed or pasted text', () => {
    expect(splitInterestInput('a, b;c\nd')).toEqual(['a', ' b', 'c', 'd']);
  });
});
