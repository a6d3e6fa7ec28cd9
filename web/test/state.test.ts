import { describe, expect, it } from 'vitest';
import { AUTO_NEXT_MS, CONNECT_TIMEOUT_MS, GO_BACK_MS, initialState, reduce, type Effect, type Event, type State } from '../src/state';

/** Runs events in order; returns the final state and all effects. */
function run(st: State, ...events: Event[]): { st: State; fx: Effect[] } {
  const fx: Effect[] = [];
  for (const e of events) {
    const r = reduce(st, e);
    st = r.state;
    fx.push(...r.effects);
  }
  return { st, fx };
}

const sends = (fx: Effect[]) => fx.filter((e) => e.type === 'send').map((e) => (e as Extract<Effect, { type: 'send' }>).msg);
const welcome = (resumed = false): Event => ({ type: 'welcome', resumed, online: 5, turnAvailable: false });
const matched = (role: 'offerer' | 'answerer' = 'offerer', common: string[] = []): Event => ({ type: 'matched', role, common, iceServers: [] });

/** A user who is connected to the server and idle. */
function idle(search = {}) {
  return run(initialState(true, search), welcome()).st;
}

/** A user who is searching (video mode, media granted). */
function searching(search = {}) {
  return run(idle(search), { type: 'start', mode: 'video' }, { type: 'media-ready' }).st;
}

function connected() {
  const s = run(searching(), matched('offerer'));
  const id = s.st.pair!.id;
  return run(s.st, { type: 'peer-connected', pairId: id }).st;
}

describe('gate', () => {
  it('starts at the gate for a first visit and remembers acceptance', () => {
    const s0 = initialState(false);
    expect(s0.phase).toBe('gate');
    const { st, fx } = run(s0, { type: 'gate-accepted' });
    expect(st.phase).toBe('idle');
    expect(fx).toContainEqual({ type: 'remember-gate' });
  });

  it('ignores Start at the gate', () => {
    expect(run(initialState(false), { type: 'start', mode: 'video' }).st.phase).toBe('gate');
  });
});

describe('start and join', () => {
  it('asks for media, then joins with the settings', () => {
    const s = run(idle({ interests: ['music'] }), { type: 'start', mode: 'video' });
    expect(s.st.phase).toBe('starting');
    expect(s.fx).toContainEqual({ type: 'acquire-media' });
    const r = run(s.st, { type: 'media-ready' });
    expect(r.st.phase).toBe('searching');
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'video', interests: ['music'], fallback: true }]);
  });

  it('goes back to idle with the reason when media fails', () => {
    const r = run(idle(), { type: 'start', mode: 'video' }, { type: 'media-failed', error: 'denied' });
    expect(r.st.phase).toBe('idle');
    expect(r.st.mediaError).toBe('denied');
    expect(sends(r.fx)).toEqual([]);
  });

  it('text mode joins at once without media', () => {
    const r = run(idle(), { type: 'start', mode: 'text' });
    expect(r.st.phase).toBe('searching');
    expect(r.fx.some((e) => e.type === 'acquire-media')).toBe(false);
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'text', interests: [], fallback: true }]);
  });

  it('adds relayOnly only when TURN is available', () => {
    const noTurn = run(initialState(true, { relayOnly: true }), welcome(), { type: 'start', mode: 'text' });
    expect(sends(noTurn.fx)[0]).not.toHaveProperty('relayOnly');
    const withTurn = run(
      initialState(true, { relayOnly: true }),
      { type: 'welcome', resumed: false, online: 1, turnAvailable: true },
      { type: 'start', mode: 'text' },
    );
    expect(sends(withTurn.fx)[0]).toMatchObject({ type: 'join', relayOnly: true });
  });

  it('opens the peer with the relay policy the join declared', () => {
    const turn: Event = { type: 'welcome', resumed: false, online: 1, turnAvailable: true };
    const hidden = run(initialState(true, { relayOnly: true }), turn, { type: 'start', mode: 'text' });
    expect(run(hidden.st, matched()).fx).toContainEqual(expect.objectContaining({ type: 'open-peer', relayOnly: true }));
    // Turned off while searching: the join said relayOnly (the server drops our
    // other candidates), so this pair stays relayed; the next join drops it.
    const off = run(hidden.st, { type: 'settings', search: { relayOnly: false } }, matched());
    expect(off.fx).toContainEqual(expect.objectContaining({ type: 'open-peer', relayOnly: true }));
    const next = run(off.st, { type: 'next' });
    expect(sends(next.fx)).toEqual([{ type: 'join', mode: 'text', interests: [], fallback: true }]);
    expect(run(next.st, matched()).fx).toContainEqual(expect.objectContaining({ type: 'open-peer', relayOnly: false }));
    // Turned on while searching: relayed at once.
    const plain = run(initialState(true), turn, { type: 'start', mode: 'text' });
    const on = run(plain.st, { type: 'settings', search: { relayOnly: true } }, matched());
    expect(on.fx).toContainEqual(expect.objectContaining({ type: 'open-peer', relayOnly: true }));
  });

  it('joins on welcome when Start came before the socket was up', () => {
    const s = run(initialState(true), { type: 'start', mode: 'text' });
    expect(sends(s.fx)).toEqual([]);
    const r = run(s.st, welcome());
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'text', interests: [], fallback: true }]);
  });
});

describe('matching and connecting', () => {
  it('opens a peer with the role and common interests', () => {
    const r = run(searching(), matched('answerer', ['music']));
    expect(r.st.phase).toBe('connecting');
    expect(r.st.pair).toEqual({ id: 1, role: 'answerer', common: ['music'], rematch: false });
    expect(r.fx).toContainEqual({ type: 'open-peer', pair: { id: 1, role: 'answerer', common: ['music'], rematch: false }, iceServers: [], relayOnly: false, mode: 'video' });
    expect(r.fx).toContainEqual({ type: 'start-timer', name: 'connect', ms: CONNECT_TIMEOUT_MS });
  });

  it('becomes connected only for the current pair', () => {
    const s = run(searching(), matched()).st;
    expect(run(s, { type: 'peer-connected', pairId: 99 }).st.phase).toBe('connecting');
    const r = run(s, { type: 'peer-connected', pairId: 1 });
    expect(r.st.phase).toBe('connected');
    expect(r.fx).toContainEqual({ type: 'clear-timer', name: 'connect' });
  });

  it('on failure closes the peer and moves on with next', () => {
    const s = connected();
    const r = run(s, { type: 'peer-failed', pairId: s.pair!.id });
    expect(r.st.phase).toBe('searching');
    expect(r.st.notice).toBe('failed');
    expect(r.fx).toContainEqual({ type: 'close-peer' });
    expect(sends(r.fx)).toEqual([{ type: 'next' }]);
  });

  it('gives up after the connect timeout', () => {
    const s = run(searching(), matched()).st;
    const r = run(s, { type: 'timer', name: 'connect' });
    expect(r.st.phase).toBe('searching');
    expect(r.st.notice).toBe('failed');
    expect(sends(r.fx)).toEqual([{ type: 'next' }]);
  });

  it('ignores a stale connect timer once connected', () => {
    const r = run(connected(), { type: 'timer', name: 'connect' });
    expect(r.st.phase).toBe('connected');
    expect(r.fx).toEqual([]);
  });

  it('a match that crosses our Stop is ended with leave', () => {
    const s = run(searching(), { type: 'stop' }).st;
    const r = run(s, matched());
    expect(r.st.phase).toBe('idle');
    expect(sends(r.fx)).toEqual([{ type: 'leave' }]);
    expect(r.fx.some((e) => e.type === 'open-peer')).toBe(false);
  });

  it('a second match replaces the first pair', () => {
    const s = run(searching(), matched()).st;
    const r = run(s, matched('answerer'));
    expect(r.st.pair!.id).toBe(2);
    expect(r.fx[0]).toEqual({ type: 'close-peer' });
  });
});

describe('Next, Stop, Report', () => {
  it('Next while connected sends next and searches', () => {
    const r = run(connected(), { type: 'next' });
    expect(r.st.phase).toBe('searching');
    expect(r.fx).toContainEqual({ type: 'close-peer' });
    expect(sends(r.fx)).toEqual([{ type: 'next' }]);
  });

  it('Next after changed settings sends a join instead', () => {
    const r = run(connected(), { type: 'settings', search: { interests: ['films'] } }, { type: 'next' });
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'video', interests: ['films'], fallback: true }]);
  });

  it('Next while searching does nothing', () => {
    const r = run(searching(), { type: 'next' });
    expect(r.fx).toEqual([]);
  });

  it('Stop leaves, releases the camera and goes idle', () => {
    const r = run(connected(), { type: 'stop' });
    expect(r.st.phase).toBe('idle');
    expect(r.fx).toContainEqual({ type: 'close-peer' });
    expect(r.fx).toContainEqual({ type: 'release-media' });
    expect(sends(r.fx)).toEqual([{ type: 'leave' }]);
  });

  it('Stop while asking for the camera releases it without a leave', () => {
    const r = run(idle(), { type: 'start', mode: 'video' }, { type: 'stop' });
    expect(r.st.phase).toBe('idle');
    expect(sends(r.fx)).toEqual([]);
    expect(r.fx).toContainEqual({ type: 'release-media' });
  });

  it('Report sends the reason and searches (the server re-queues us)', () => {
    const r = run(connected(), { type: 'report', reason: 'spam' });
    expect(r.st.phase).toBe('searching');
    expect(r.st.notice).toBe('reported');
    expect(sends(r.fx)).toEqual([{ type: 'report', reason: 'spam' }]);
  });

  it('Report is ignored when not paired', () => {
    expect(run(searching(), { type: 'report', reason: 'spam' }).fx).toEqual([]);
  });
});

describe('the stranger leaves', () => {
  it('video: shows Stranger left, then searches after a pause', () => {
    const r = run(connected(), { type: 'peer-left', reason: 'next' });
    expect(r.st.phase).toBe('ended');
    expect(r.st.leftReason).toBe('next');
    expect(r.fx).toContainEqual({ type: 'start-timer', name: 'auto-next', ms: AUTO_NEXT_MS });
    expect(sends(r.fx)).toEqual([]);
    const t = run(r.st, { type: 'timer', name: 'auto-next' });
    expect(t.st.phase).toBe('searching');
    // Not paired any more: a join, not a next.
    expect(sends(t.fx)).toEqual([{ type: 'join', mode: 'video', interests: [], fallback: true }]);
  });

  it('text: waits for Next', () => {
    const s = run(idle(), { type: 'start', mode: 'text' }, matched(), { type: 'peer-connected', pairId: 1 }).st;
    const r = run(s, { type: 'peer-left', reason: 'leave' });
    expect(r.st.phase).toBe('ended');
    expect(r.fx.some((e) => e.type === 'start-timer' && e.name === 'auto-next')).toBe(false);
    const n = run(r.st, { type: 'next' });
    expect(n.st.phase).toBe('searching');
    expect(sends(n.fx)).toEqual([{ type: 'join', mode: 'text', interests: [], fallback: true }]);
  });

  it('Next during the pause searches at once', () => {
    const s = run(connected(), { type: 'peer-left', reason: 'timeout' }).st;
    const r = run(s, { type: 'next' });
    expect(r.fx).toContainEqual({ type: 'clear-timer', name: 'auto-next' });
    expect(r.st.phase).toBe('searching');
  });
});

describe('socket drops and resume', () => {
  it('keeps the call when the session is resumed', () => {
    const s = run(connected(), { type: 'socket-down' }).st;
    expect(s.conn).toBe('reconnecting');
    const r = run(s, welcome(true));
    expect(r.st.phase).toBe('connected');
    expect(r.fx).toEqual([]);
  });

  it('drops the call and searches when a fresh session came back', () => {
    const s = run(connected(), { type: 'socket-down' }).st;
    const r = run(s, welcome(false));
    expect(r.st.phase).toBe('searching');
    expect(r.st.notice).toBe('connection-lost');
    expect(r.fx).toContainEqual({ type: 'close-peer' });
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'video', interests: [], fallback: true }]);
  });

  it('re-joins the queue after a drop while searching (the queue place is gone)', () => {
    const s = run(searching(), { type: 'socket-down' }).st;
    expect(sends(run(s, welcome(true)).fx)).toEqual([{ type: 'join', mode: 'video', interests: [], fallback: true }]);
  });

  it('Next while disconnected is sent on resume (the pair was held)', () => {
    const s = run(connected(), { type: 'socket-down' }, { type: 'next' });
    expect(sends(s.fx)).toEqual([]);
    const r = run(s.st, welcome(true));
    expect(sends(r.fx)).toEqual([{ type: 'next' }]);
  });

  it('after a resume, a relay-only user searches with join, not next (relayOnly is per connection)', () => {
    const turn: Event = { type: 'welcome', resumed: false, online: 1, turnAvailable: true };
    const resumed: Event = { type: 'welcome', resumed: true, online: 1, turnAvailable: true };
    const s = run(initialState(true, { relayOnly: true }), turn, { type: 'start', mode: 'text' }, matched(), { type: 'peer-connected', pairId: 1 });
    const back = run(s.st, { type: 'socket-down' }, resumed);
    expect(back.st.phase).toBe('connected');
    expect(sends(back.fx)).toEqual([]);
    const r = run(back.st, { type: 'next' });
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'text', interests: [], fallback: true, relayOnly: true }]);
    // Without relay only, next stays next.
    const p = run(initialState(true), turn, { type: 'start', mode: 'text' }, matched(), { type: 'peer-connected', pairId: 1 }, { type: 'socket-down' }, resumed);
    expect(sends(run(p.st, { type: 'next' }).fx)).toEqual([{ type: 'next' }]);
  });

  it('Stop while disconnected sends leave on resume', () => {
    const s = run(connected(), { type: 'socket-down' }, { type: 'stop' }).st;
    expect(s.phase).toBe('idle');
    const r = run(s, welcome(true));
    expect(sends(r.fx)).toEqual([{ type: 'leave' }]);
    expect(sends(run(r.st, welcome(true)).fx)).toEqual([]);
  });

  it('sends nothing while the socket is down', () => {
    const s = run(searching(), matched(), { type: 'socket-down' }).st;
    const r = run(s, { type: 'peer-failed', pairId: 1 });
    expect(sends(r.fx)).toEqual([]);
    expect(r.st.phase).toBe('searching');
  });
});

describe('server errors', () => {
  it('face_required waits for a face, then joins', () => {
    const s = run(searching(), { type: 'server-error', code: 'face_required', ref: 'join' }).st;
    expect(s.phase).toBe('waiting-face');
    expect(s.faceRequired).toBe(true);
    const r = run(s, { type: 'face', present: true });
    expect(r.st.phase).toBe('searching');
    expect(sends(r.fx)).toEqual([{ type: 'join', mode: 'video', interests: [], fallback: true }]);
  });

  it('face_required after the face was already seen retries shortly', () => {
    const s = run(searching(), { type: 'face', present: true });
    const r = run(s.st, { type: 'server-error', code: 'face_required', ref: 'join' });
    expect(r.st.phase).toBe('waiting-face');
    expect(r.fx).toContainEqual({ type: 'start-timer', name: 'retry-join', ms: 1000 });
    const t = run(r.st, { type: 'timer', name: 'retry-join' });
    expect(t.st.phase).toBe('searching');
    expect(sends(t.fx)).toHaveLength(1);
  });

  it('rate_limited on join or next retries after a second', () => {
    const r = run(searching(), { type: 'server-error', code: 'rate_limited', ref: 'next' });
    expect(r.fx).toContainEqual({ type: 'start-timer', name: 'retry-join', ms: 1000 });
    const t = run(r.st, { type: 'timer', name: 'retry-join' });
    expect(sends(t.fx)).toEqual([{ type: 'join', mode: 'video', interests: [], fallback: true }]);
  });

  it('rate_limited on a signal is ignored', () => {
    expect(run(searching(), { type: 'server-error', code: 'rate_limited', ref: 'signal' }).fx).toEqual([]);
  });

  it('banned stops everything', () => {
    const r = run(connected(), { type: 'banned', until: 2_000_000_000 });
    expect(r.st.phase).toBe('banned');
    expect(r.fx).toContainEqual({ type: 'close-peer' });
    expect(r.fx).toContainEqual({ type: 'release-media' });
    expect(run(r.st, { type: 'start', mode: 'video' }).st.phase).toBe('banned');
  });
});

describe('online count', () => {
  it('tracks welcome and online', () => {
    expect(run(idle(), { type: 'online', count: 42 }).st.online).toBe(42);
  });
});

describe('going back (PROTOCOL.md "Going back")', () => {
  const timers = (fx: Effect[], name: string) => fx.filter((e) => (e.type === 'start-timer' || e.type === 'clear-timer') && e.name === name).map((e) => e.type);

  it('opens a 10 s window after our Next, and Go back sends rematch once', () => {
    const r = run(connected(), { type: 'next' });
    expect(r.st.goBack).toEqual({ asked: false, wanted: false });
    expect(r.fx).toContainEqual({ type: 'start-timer', name: 'go-back', ms: GO_BACK_MS });
    const g = run(r.st, { type: 'go-back' });
    expect(sends(g.fx)).toEqual([{ type: 'rematch' }]);
    expect(g.st.goBack).toEqual({ asked: true, wanted: false });
    expect(g.st.phase).toBe('searching'); // a queued sender stays queued
    expect(sends(run(g.st, { type: 'go-back' }).fx)).toEqual([]);
  });

  it('opens the window when the stranger leaves by next or leave, and waits for them instead of auto-searching', () => {
    for (const reason of ['next', 'leave'] as const) {
      const r = run(connected(), { type: 'peer-left', reason });
      expect(r.st.goBack).toEqual({ asked: false, wanted: false });
      const g = run(r.st, { type: 'go-back' });
      expect(sends(g.fx)).toEqual([{ type: 'rematch' }]);
      expect(g.st.phase).toBe('ended');
      expect(g.fx).toContainEqual({ type: 'clear-timer', name: 'auto-next' });
      // The stranger never came back: search when the window closes.
      const t = run(g.st, { type: 'timer', name: 'go-back' });
      expect(t.st.goBack).toBeNull();
      expect(t.st.phase).toBe('searching');
      expect(sends(t.fx)).toEqual([{ type: 'join', mode: 'video', interests: [], fallback: true }]);
    }
  });

  it('is never offered after a report, a timeout, a disconnect or a failed connection', () => {
    for (const reason of ['report', 'timeout', 'disconnect'] as const) {
      const r = run(connected(), { type: 'peer-left', reason });
      expect(r.st.goBack).toBeNull();
      expect(sends(run(r.st, { type: 'go-back' }).fx)).toEqual([]);
    }
    const rep = run(connected(), { type: 'report', reason: 'spam' });
    expect(rep.st.goBack).toBeNull();
    // A report of the next stranger closes a window that was still open.
    const next = run(connected(), { type: 'next' }, matched('answerer'));
    expect(next.st.goBack).not.toBeNull();
    const rep2 = run(next.st, { type: 'report', reason: 'spam' });
    expect(rep2.st.goBack).toBeNull();
    expect(timers(rep2.fx, 'go-back')).toEqual(['clear-timer']);
    const failed = run(connected(), { type: 'next' }, matched('offerer'));
    expect(run(failed.st, { type: 'peer-failed', pairId: failed.st.pair!.id }).st.goBack).toBeNull();
    expect(run(connected(), { type: 'stop' }).st.goBack).toBeNull();
  });

  it('shows the polite prompt on rematch_wanted, wherever we are, but not after Stop', () => {
    const afterNext = run(connected(), { type: 'next' }, { type: 'rematch-wanted' });
    expect(afterNext.st.goBack).toEqual({ asked: false, wanted: true });
    const ended = run(connected(), { type: 'peer-left', reason: 'next' }, { type: 'rematch-wanted' });
    expect(ended.st.goBack).toEqual({ asked: false, wanted: true });
    // Paired with someone new already: still asked.
    const paired = run(connected(), { type: 'next' }, matched('answerer'), { type: 'rematch-wanted' });
    expect(paired.st.goBack?.wanted).toBe(true);
    // In "ended", the page waits for the answer instead of searching, until the window closes.
    expect(ended.fx).toContainEqual({ type: 'clear-timer', name: 'auto-next' });
    const late = run(ended.st, { type: 'timer', name: 'go-back' });
    expect(late.st.phase).toBe('searching');
    const stopped = run(connected(), { type: 'stop' }, { type: 'rematch-wanted' });
    expect(stopped.st.goBack).toBeNull();
  });

  it('Go back while paired with someone new ends that pair as next does', () => {
    const r = run(connected(), { type: 'next' }, matched('answerer'));
    const g = run(r.st, { type: 'go-back' });
    expect(sends(g.fx)).toEqual([{ type: 'rematch' }]);
    expect(g.fx).toContainEqual({ type: 'close-peer' });
    expect(g.st.phase).toBe('searching');
    expect(g.st.serverPaired).toBe(false);
    expect(g.st.pair).toBeNull();
  });

  it('a matched with rematch: true is an ordinary new pair marked as the same stranger', () => {
    const r = run(connected(), { type: 'next' }, { type: 'rematch-wanted' }, { type: 'go-back' });
    const m = run(r.st, { type: 'matched', role: 'answerer', common: ['music'], iceServers: [], rematch: true });
    expect(m.st.phase).toBe('connecting');
    expect(m.st.pair).toMatchObject({ role: 'answerer', common: ['music'], rematch: true });
    expect(m.st.goBack).toBeNull();
    expect(m.fx.find((e) => e.type === 'open-peer')).toMatchObject({ pair: { rematch: true, role: 'answerer' } });
    expect(timers(m.fx, 'go-back')).toEqual(['clear-timer']);
    const plain = run(connected(), { type: 'next' }, matched('offerer'));
    expect(plain.st.pair?.rematch).toBe(false);
  });

  it('rematch_unavailable: says so and hides the button; a held "ended" page searches', () => {
    const r = run(connected(), { type: 'peer-left', reason: 'leave' }, { type: 'go-back' });
    const e = run(r.st, { type: 'server-error', code: 'rematch_unavailable', ref: 'rematch' });
    expect(e.st.goBack).toBeNull();
    expect(e.st.goBackRefused).toBe(true);
    expect(e.st.phase).toBe('searching');
    expect(sends(run(e.st, { type: 'go-back' }).fx)).toEqual([]);
    // The note goes with the next pair.
    expect(run(e.st, matched()).st.goBackRefused).toBe(false);
  });

  it('a rate-limited rematch may be asked again; a fresh session forgets the window', () => {
    const r = run(connected(), { type: 'next' }, { type: 'go-back' }, { type: 'server-error', code: 'rate_limited', ref: 'rematch' });
    expect(r.st.goBack?.asked).toBe(false);
    expect(sends(run(r.st, { type: 'go-back' }).fx)).toEqual([{ type: 'rematch' }]);
    const fresh = run(r.st, { type: 'socket-down' }, welcome(false));
    expect(fresh.st.goBack).toBeNull();
  });

  it('a window closed by its timer takes the button away', () => {
    const r = run(connected(), { type: 'next' }, { type: 'timer', name: 'go-back' });
    expect(r.st.goBack).toBeNull();
    expect(r.st.phase).toBe('searching');
    expect(sends(run(r.st, { type: 'go-back' }).fx)).toEqual([]);
  });
});
