import { afterEach, describe, expect, it } from 'vitest';
import {
  addKudos,
  clearStats,
  daysBetween,
  emptyStats,
  formatDuration,
  loadStats,
  localDate,
  parseStats,
  recordChat,
  saveStats,
  STATS_KEY,
  view,
  type OffsetFn,
  type Stats,
} from '../../src/play/streaks';

const MIN = 60_000;
const HOUR = 60 * MIN;
const fixed = (minutes: number): OffsetFn => () => minutes;
/** New York: UTC-5, and UTC-4 from 2026-03-08 07:00 UTC to 2026-11-01 06:00 UTC. */
const newYork: OffsetFn = (ms) => (ms >= Date.UTC(2026, 2, 8, 7) && ms < Date.UTC(2026, 10, 1, 6) ? -240 : -300);
const utc = (y: number, m: number, d: number, h = 12, mi = 0) => Date.UTC(y, m - 1, d, h, mi);

function chats(off: OffsetFn, ...ends: number[]): Stats {
  return ends.reduce((s, t) => recordChat(s, t, 2 * MIN, off), emptyStats());
}

describe('local dates', () => {
  it('follows the offset in force at each moment', () => {
    expect(localDate(utc(2026, 1, 1, 23, 30), fixed(60))).toBe('2026-01-02');
    expect(localDate(utc(2026, 1, 1, 0, 30), fixed(-300))).toBe('2025-12-31');
    expect(localDate(utc(2026, 1, 1, 12), fixed(14 * 60))).toBe('2026-01-02'); // Kiribati
    expect(localDate(utc(2026, 1, 1, 12), fixed(-12 * 60))).toBe('2026-01-01');
    expect(localDate(utc(2026, 1, 1, 0, 10), fixed(330))).toBe('2026-01-01'); // India, half-hour offset
  });

  it('counts calendar days across month and year ends and leap days', () => {
    expect(daysBetween('2026-01-31', '2026-02-01')).toBe(1);
    expect(daysBetween('2026-02-28', '2026-03-01')).toBe(1);
    expect(daysBetween('2028-02-28', '2028-03-01')).toBe(2);
    expect(daysBetween('2026-12-31', '2027-01-01')).toBe(1);
    expect(daysBetween('2026-03-01', '2026-02-28')).toBe(-1);
    expect(daysBetween('bad', '2026-01-01')).toBeNaN();
  });
});

describe('streaks', () => {
  it('counts days in a row with a chat over a minute, and chats today', () => {
    const off = fixed(60);
    let s = chats(off, utc(2026, 1, 30), utc(2026, 1, 31), utc(2026, 2, 1), utc(2026, 2, 1, 15));
    expect(view(s, utc(2026, 2, 1, 20), off)).toEqual({ chatsToday: 2, streak: 3, kudos: 0, longestMs: 2 * MIN });
    // Still alive the next day until a whole day passes without one.
    expect(view(s, utc(2026, 2, 2, 20), off).streak).toBe(3);
    expect(view(s, utc(2026, 2, 2, 20), off).chatsToday).toBe(0);
    expect(view(s, utc(2026, 2, 3, 20), off).streak).toBe(0);
    // A gap starts over.
    s = recordChat(s, utc(2026, 2, 4), 5 * MIN, off);
    expect(view(s, utc(2026, 2, 4, 13), off).streak).toBe(1);
    expect(view(s, utc(2026, 2, 4, 13), off).longestMs).toBe(5 * MIN);
  });

  it('short chats count as chats but not for the streak', () => {
    const off = fixed(0);
    let s = chats(off, utc(2026, 5, 1));
    s = recordChat(s, utc(2026, 5, 2), 59_999, off);
    expect(view(s, utc(2026, 5, 2, 13), off)).toMatchObject({ chatsToday: 1, streak: 1 });
    s = recordChat(s, utc(2026, 5, 3), 30_000, off);
    expect(view(s, utc(2026, 5, 3, 13), off).streak).toBe(0);
  });

  it('goes over month ends and the new year', () => {
    const off = fixed(-300);
    const s = chats(off, utc(2026, 12, 30, 20), utc(2026, 12, 31, 20), utc(2027, 1, 1, 20));
    expect(view(s, utc(2027, 1, 1, 22), off).streak).toBe(3);
  });

  it('survives the DST changes (a 23-hour and a 25-hour day)', () => {
    // Late evening chats in New York on the days around both changes.
    const spring = chats(newYork, utc(2026, 3, 8, 3, 30), utc(2026, 3, 9, 3, 30), utc(2026, 3, 10, 2, 30));
    // 22:30 on Mar 7 (UTC-5), 23:30 on Mar 8 (UTC-4), 22:30 on Mar 9.
    expect(localDate(utc(2026, 3, 9, 3, 30), newYork)).toBe('2026-03-08');
    expect(view(spring, utc(2026, 3, 10, 3), newYork).streak).toBe(3);
    const autumn = chats(newYork, utc(2026, 11, 1, 3, 50), utc(2026, 11, 2, 4, 50), utc(2026, 11, 3, 4, 50));
    // 23:50 on Oct 31 (UTC-4), 23:50 on Nov 1 (UTC-5), 23:50 on Nov 2.
    expect(localDate(utc(2026, 11, 2, 4, 50), newYork)).toBe('2026-11-01');
    expect(view(autumn, utc(2026, 11, 3, 4, 55), newYork)).toMatchObject({ streak: 3, chatsToday: 1 });
    // Two chats a few minutes apart around the autumn change stay on one date.
    const twice = chats(newYork, utc(2026, 11, 1, 5, 55), utc(2026, 11, 1, 6, 5));
    expect(view(twice, utc(2026, 11, 1, 6, 10), newYork)).toMatchObject({ chatsToday: 2, streak: 1 });
  });

  it('follows the wall clock when the device changes time zone', () => {
    // A chat on Monday evening in Tokyo, then a flight east-to-west: Tuesday in Los Angeles.
    let s = recordChat(emptyStats(), utc(2026, 6, 1, 12), 2 * MIN, fixed(540)); // 21:00 Jun 1 in Tokyo
    s = recordChat(s, utc(2026, 6, 2, 20), 2 * MIN, fixed(-420)); // 13:00 Jun 2 in LA
    expect(view(s, utc(2026, 6, 2, 21), fixed(-420)).streak).toBe(2);
    // Flying back over the date line can make "today" earlier than the last day: nothing is lost.
    const back = recordChat(s, utc(2026, 6, 2, 21), 2 * MIN, fixed(-720));
    expect(view(back, utc(2026, 6, 2, 22), fixed(-720)).streak).toBe(2);
  });

  it('uses the process time zone by default (TZ cases)', () => {
    const prev = process.env.TZ;
    try {
      for (const [tz, when, date] of [
        ['Europe/Paris', utc(2026, 3, 28, 23, 30), '2026-03-29'],
        ['America/New_York', utc(2026, 3, 8, 4, 30), '2026-03-07'],
        ['Pacific/Auckland', utc(2026, 4, 4, 13, 30), '2026-04-05'],
        ['Asia/Kolkata', utc(2026, 1, 31, 18, 40), '2026-02-01'],
        ['UTC', utc(2026, 2, 28, 23, 59), '2026-02-28'],
      ] as const) {
        process.env.TZ = tz;
        expect(localDate(when), tz).toBe(date);
      }
      process.env.TZ = 'America/New_York';
      const s = [utc(2026, 3, 8, 3, 30), utc(2026, 3, 9, 3, 30), utc(2026, 3, 10, 2, 30)].reduce((a, t) => recordChat(a, t, 2 * MIN), emptyStats());
      expect(view(s, utc(2026, 3, 10, 3)).streak).toBe(3);
    } finally {
      if (prev === undefined) delete process.env.TZ;
      else process.env.TZ = prev;
    }
  });
});

describe('kudos, durations and storage', () => {
  afterEach(() => undefined);

  it('counts kudos and formats durations', () => {
    expect(addKudos(addKudos(emptyStats())).kudos).toBe(2);
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(4 * MIN + 5_000)).toBe('4 min 05 s');
    expect(formatDuration(HOUR + 2 * MIN)).toBe('1 h 02 min');
    expect(formatDuration(-5)).toBe('0 s');
  });

  it('reads garbage as nothing, field by field', () => {
    expect(parseStats(null)).toEqual(emptyStats());
    expect(parseStats('{')).toEqual(emptyStats());
    expect(parseStats('"x"')).toEqual(emptyStats());
    expect(parseStats(JSON.stringify({ kudos: -1, longestMs: 'long', day: '2026-13', chatsThatDay: 3, streakLast: '2026-01-01', streakLen: 4 }))).toEqual({
      ...emptyStats(),
      streakLast: '2026-01-01',
      streakLen: 4,
    });
  });

  it('saves, loads and clears through the storage it is given', () => {
    const m = new Map<string, string>();
    const st = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
    const s = addKudos(recordChat(emptyStats(), utc(2026, 1, 1), 3 * MIN, fixed(0)));
    saveStats(s, st);
    expect([...m.keys()]).toEqual([STATS_KEY]);
    expect(loadStats(st)).toEqual(s);
    clearStats(st);
    expect(loadStats(st)).toEqual(emptyStats());
    const broken = { getItem: () => { throw new Error('blocked'); }, setItem: () => { throw new Error('full'); }, removeItem: () => { throw new Error('blocked'); } };
    expect(loadStats(broken)).toEqual(emptyStats());
    expect(() => saveStats(s, broken)).not.toThrow();
    expect(() => clearStats(broken)).not.toThrow();
  });
});
