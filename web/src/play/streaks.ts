// This device's own chat record: chats today, days in a row with a real
// conversation (a chat over a minute), kudos received, the longest chat.
// Kept in localStorage and never sent anywhere. Days are local calendar
// dates, computed with the UTC offset in force at each moment (so DST and a
// change of time zone move the date the way a wall clock does), and days
// are counted between dates, never as 24-hour spans.

export const STATS_KEY = 'serendip.stats.v1';
/** A chat at least this long makes its day count for the streak. */
export const REAL_CHAT_MS = 60_000;

/** Minutes to add to UTC for local time at `ms` (+60 in Paris in winter). */
export type OffsetFn = (ms: number) => number;
export const localOffset: OffsetFn = (ms) => -new Date(ms).getTimezoneOffset();

export interface Stats {
  /** Local date of the last counted chat and how many chats that day. */
  day: string;
  chatsThatDay: number;
  /** The streak: its last date with a real chat and its length in days. */
  streakLast: string;
  streakLen: number;
  kudos: number;
  longestMs: number;
}

export const emptyStats = (): Stats => ({ day: '', chatsThatDay: 0, streakLast: '', streakLen: 0, kudos: 0, longestMs: 0 });

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The local calendar date at `ms`, as YYYY-MM-DD. */
export function localDate(ms: number, offset: OffsetFn = localOffset): string {
  const d = new Date(ms + offset(ms) * 60_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
}

/** Whole days from date `a` to date `b` (calendar arithmetic, no clocks). */
export function daysBetween(a: string, b: string): number {
  const ma = DATE.exec(a);
  const mb = DATE.exec(b);
  if (!ma || !mb) return NaN;
  const n = (m: RegExpExecArray) => Date.UTC(+m[1], +m[2] - 1, +m[3]) / 86_400_000;
  return n(mb) - n(ma);
}

/** A chat ended at `endMs` after `durationMs` of being connected. */
export function recordChat(s: Stats, endMs: number, durationMs: number, offset: OffsetFn = localOffset): Stats {
  const day = localDate(endMs, offset);
  const out: Stats = { ...s, longestMs: Math.max(s.longestMs, Math.max(0, Math.round(durationMs))) };
  out.chatsThatDay = s.day === day ? s.chatsThatDay + 1 : 1;
  out.day = day;
  if (durationMs >= REAL_CHAT_MS) {
    const gap = s.streakLast ? daysBetween(s.streakLast, day) : NaN;
    if (gap === 1) out.streakLen = s.streakLen + 1;
    else if (gap === 0 || gap < 0) out.streakLen = Math.max(1, s.streakLen); // same day, or a clock moved back
    else out.streakLen = 1;
    if (!(gap < 0)) out.streakLast = day;
  }
  return out;
}

export const addKudos = (s: Stats): Stats => ({ ...s, kudos: s.kudos + 1 });

export interface StatsView {
  chatsToday: number;
  /** Days in a row, ending today or yesterday (a streak is alive until a whole day passes without a real chat). */
  streak: number;
  kudos: number;
  longestMs: number;
}

export function view(s: Stats, nowMs: number, offset: OffsetFn = localOffset): StatsView {
  const today = localDate(nowMs, offset);
  const gap = s.streakLast ? daysBetween(s.streakLast, today) : NaN;
  return {
    chatsToday: s.day === today ? s.chatsThatDay : 0,
    streak: gap === 0 || gap === 1 ? s.streakLen : gap < 0 ? s.streakLen : 0,
    kudos: s.kudos,
    longestMs: s.longestMs,
  };
}

/** "4 min 05 s", "45 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  const sec = Math.floor(Math.max(0, ms) / 1000);
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min ${String(sec % 60).padStart(2, '0')} s`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

const count = (v: unknown, max = 1e9): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : 0);
const date = (v: unknown): string => (typeof v === 'string' && DATE.test(v) ? v : '');

/** Reads what an earlier visit stored, field by field; anything odd counts as nothing. */
export function parseStats(raw: string | null): Stats {
  if (!raw) return emptyStats();
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return emptyStats();
  }
  if (typeof v !== 'object' || v === null) return emptyStats();
  const o = v as Record<string, unknown>;
  const s: Stats = {
    day: date(o.day),
    chatsThatDay: count(o.chatsThatDay),
    streakLast: date(o.streakLast),
    streakLen: count(o.streakLen),
    kudos: count(o.kudos),
    longestMs: count(o.longestMs, 1e12),
  };
  if (!s.day) s.chatsThatDay = 0;
  if (!s.streakLast) s.streakLen = 0;
  return s;
}

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function store(): StorageLike | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export function loadStats(st: StorageLike | null = store()): Stats {
  try {
    return parseStats(st?.getItem(STATS_KEY) ?? null);
  } catch {
    return emptyStats();
  }
}

export function saveStats(s: Stats, st: StorageLike | null = store()): void {
  try {
    st?.setItem(STATS_KEY, JSON.stringify(s));
  } catch {
    /* full or blocked: the record is a nicety */
  }
}

export function clearStats(st: StorageLike | null = store()): void {
  try {
    st?.removeItem(STATS_KEY);
  } catch {
    /* blocked */
  }
}
