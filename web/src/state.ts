// The client's state machine: a pure reducer from (state, event) to a new
// state plus a list of effects for the app to carry out. No DOM, no timers,
// no network here, so every transition can be unit-tested.

import type { ClientMessage, IceServer, Mode, PeerLeftReason, ReportReason, Role } from './protocol';

export type Phase =
  | 'gate' // first visit: the 18+/rules gate
  | 'idle' // ready; Start is offered
  | 'starting' // asking for camera and microphone
  | 'waiting-face' // the server requires a face and none is seen yet
  | 'searching' // in the queue
  | 'connecting' // matched; the peer connection is being set up
  | 'connected' // face to face
  | 'ended' // the stranger left; Next (or the auto-next timer) searches again
  | 'banned';

export type Conn = 'connecting' | 'open' | 'reconnecting';

/** Why we are searching again (shown beside "Looking for someone..."). */
export type Notice = null | 'failed' | 'reported' | 'connection-lost' | 'rate-limited' | 'unavailable';

export type MediaError = 'denied' | 'missing' | 'busy' | 'insecure' | 'other';

export type TimerName = 'connect' | 'auto-next' | 'retry-join' | 'go-back';

/**
 * "Going back" (PROTOCOL.md): for 10 s after a pair ends by next or leave,
 * either stranger may ask to be paired again; both must ask.
 */
export interface GoBack {
  /** We sent `rematch`. */
  asked: boolean;
  /** The server said the last stranger asked (`rematch_wanted`). */
  wanted: boolean;
}

export interface Pair {
  id: number;
  role: Role;
  common: string[];
  /** The same stranger again, restored by going back. */
  rematch: boolean;
}

export interface SearchSettings {
  mode: Mode;
  interests: string[];
  fallback: boolean;
  relayOnly: boolean;
}

export interface State {
  phase: Phase;
  conn: Conn;
  search: SearchSettings;
  online: number | null;
  turnAvailable: boolean;
  pair: Pair | null;
  pairSeq: number;
  leftReason: PeerLeftReason | 'unknown' | null;
  notice: Notice;
  mediaError: MediaError | null;
  facePresent: boolean;
  faceRequired: boolean;
  /** Whether the server, as far as we know, holds us in a pair. */
  serverPaired: boolean;
  /** Settings key of the last join the server accepted (for next vs join). */
  lastJoinKey: string | null;
  /** relayOnly of the last join sent on this connection (the server keeps it per connection). */
  joinRelay: boolean;
  bannedUntil: number | null;
  /** The open go-back window, if any. */
  goBack: GoBack | null;
  /** Set when the server refused to go back (shown kindly until the next pair). */
  goBackRefused: boolean;
}

export type Event =
  | { type: 'gate-accepted' }
  | { type: 'start'; mode: Mode }
  | { type: 'media-ready' }
  | { type: 'media-failed'; error: MediaError }
  | { type: 'welcome'; resumed: boolean; online: number; turnAvailable: boolean }
  | { type: 'socket-down' }
  | { type: 'online'; count: number }
  | { type: 'queued' }
  | { type: 'matched'; role: Role; common: string[]; iceServers: IceServer[]; rematch?: boolean }
  | { type: 'go-back' }
  | { type: 'rematch-wanted' }
  | { type: 'peer-left'; reason: PeerLeftReason | 'unknown' }
  | { type: 'peer-connected'; pairId: number }
  | { type: 'peer-failed'; pairId: number }
  | { type: 'next' }
  | { type: 'stop' }
  | { type: 'report'; reason: ReportReason }
  | { type: 'server-error'; code: string; ref: string | null }
  | { type: 'banned'; until: number }
  | { type: 'face'; present: boolean }
  | { type: 'timer'; name: TimerName }
  | { type: 'settings'; search: Partial<SearchSettings> };

export type Effect =
  | { type: 'send'; msg: ClientMessage }
  | { type: 'acquire-media' }
  | { type: 'release-media' }
  | { type: 'open-peer'; pair: Pair; iceServers: IceServer[]; relayOnly: boolean; mode: Mode }
  | { type: 'close-peer' }
  | { type: 'start-timer'; name: TimerName; ms: number }
  | { type: 'clear-timer'; name: TimerName }
  | { type: 'remember-gate' };

export const CONNECT_TIMEOUT_MS = 10_000;
export const AUTO_NEXT_MS = 2_000;
export const RETRY_JOIN_MS = 1_000;
// Matchmaking outages (a Redis restart) last seconds: try again soon.
export const UNAVAILABLE_RETRY_MS = 1_000;
/** PROTOCOL.md's window for going back. */
export const GO_BACK_MS = 10_000;

export function initialState(gateAccepted: boolean, search?: Partial<SearchSettings>): State {
  return {
    phase: gateAccepted ? 'idle' : 'gate',
    conn: 'connecting',
    search: { mode: 'video', interests: [], fallback: true, relayOnly: false, ...search },
    online: null,
    turnAvailable: false,
    pair: null,
    pairSeq: 0,
    leftReason: null,
    notice: null,
    mediaError: null,
    facePresent: false,
    faceRequired: false,
    serverPaired: false,
    lastJoinKey: null,
    joinRelay: false,
    bannedUntil: null,
    goBack: null,
    goBackRefused: false,
  };
}

/** Phases in which the person wants to be matched or is matched. */
export function isActive(phase: Phase): boolean {
  return phase === 'waiting-face' || phase === 'searching' || phase === 'connecting' || phase === 'connected' || phase === 'ended';
}

const joinKey = (s: SearchSettings, relay: boolean): string =>
  JSON.stringify([s.mode, s.interests, s.fallback, relay]);

const relayFor = (st: State): boolean => st.search.relayOnly && st.turnAvailable;

function joinMessage(st: State): ClientMessage {
  const msg: ClientMessage = {
    type: 'join',
    mode: st.search.mode,
    interests: [...st.search.interests],
    fallback: st.search.fallback,
  };
  if (relayFor(st)) msg.relayOnly = true;
  return msg;
}

class Step {
  effects: Effect[] = [];
  constructor(public st: State) {}
  set(patch: Partial<State>): this {
    this.st = { ...this.st, ...patch };
    return this;
  }
  fx(...e: Effect[]): this {
    this.effects.push(...e);
    return this;
  }
  /** Sends only while the socket is open; otherwise the welcome reconciles. */
  send(msg: ClientMessage): this {
    if (this.st.conn === 'open') this.effects.push({ type: 'send', msg });
    return this;
  }
  /**
   * Enters (or re-enters) the queue. While paired with unchanged settings this
   * is a `next`; otherwise a `join` (which, when paired, also acts as next).
   */
  requeue(): this {
    const key = joinKey(this.st.search, relayFor(this.st));
    if (this.st.conn === 'open') {
      if (this.st.serverPaired && this.st.lastJoinKey === key) this.send({ type: 'next' });
      else this.send(joinMessage(this.st)).set({ joinRelay: relayFor(this.st) });
      this.set({ lastJoinKey: key, serverPaired: false });
    }
    return this;
  }
  /** A pair just ended by next or leave: going back is possible for 10 s. */
  openGoBack(wanted = false): this {
    return this.set({ goBack: { asked: false, wanted }, goBackRefused: false }).fx({ type: 'start-timer', name: 'go-back', ms: GO_BACK_MS });
  }
  closeGoBack(): this {
    if (this.st.goBack) this.fx({ type: 'clear-timer', name: 'go-back' });
    return this.set({ goBack: null });
  }
  dropPeer(): this {
    if (this.st.pair) this.fx({ type: 'close-peer' });
    return this.fx({ type: 'clear-timer', name: 'connect' }).set({ pair: null });
  }
}

export function reduce(state: State, ev: Event): { state: State; effects: Effect[] } {
  const s = new Step(state);
  const st = state;
  switch (ev.type) {
    case 'gate-accepted':
      if (st.phase === 'gate') s.set({ phase: 'idle' }).fx({ type: 'remember-gate' });
      break;

    case 'settings':
      s.set({ search: { ...st.search, ...ev.search } });
      break;

    case 'start':
      if (st.phase !== 'idle') break;
      s.set({ search: { ...st.search, mode: ev.mode }, mediaError: null, notice: null, leftReason: null, goBackRefused: false });
      if (ev.mode === 'video') s.set({ phase: 'starting' }).fx({ type: 'acquire-media' });
      else s.set({ phase: 'searching' }).requeue();
      break;

    case 'media-ready':
      if (st.phase === 'starting') s.set({ phase: 'searching' }).requeue();
      break;

    case 'media-failed':
      if (st.phase === 'starting') s.set({ phase: 'idle', mediaError: ev.error }).fx({ type: 'release-media' });
      break;

    case 'socket-down':
      s.set({ conn: 'reconnecting' });
      break;

    case 'welcome': {
      // A new connection has declared nothing yet: after a relay-only join, the
      // next search must be a join again (not next) to re-declare relayOnly.
      s.set({ conn: 'open', online: ev.online, turnAvailable: ev.turnAvailable, joinRelay: false });
      if (!ev.resumed || st.joinRelay) s.set({ lastJoinKey: null });
      // A fresh session has no last pair to go back to.
      if (!ev.resumed) s.set({ serverPaired: false }).closeGoBack();
      const p = st.phase;
      if (p === 'searching') {
        // The queue place never survives a dropped connection.
        s.requeue();
      } else if (p === 'waiting-face') {
        if (st.facePresent) s.set({ phase: 'searching' }).requeue();
      } else if (p === 'connecting' || p === 'connected') {
        if (!ev.resumed) s.dropPeer().set({ phase: 'searching', notice: 'connection-lost' }).requeue();
      } else if (p === 'ended') {
        // The auto-next timer (or the Next button) re-queues.
        if (ev.resumed && s.st.serverPaired) s.set({ serverPaired: false });
      } else if (ev.resumed && s.st.serverPaired) {
        // Stopped while the socket was down: tell the server.
        s.send({ type: 'leave' }).set({ serverPaired: false });
      }
      break;
    }

    case 'online':
      s.set({ online: ev.count });
      break;

    case 'queued':
      if (st.phase === 'waiting-face') s.set({ phase: 'searching' });
      break;

    case 'matched': {
      const p = st.phase;
      if (p === 'searching' || p === 'waiting-face' || p === 'ended' || p === 'connecting' || p === 'connected') {
        const rematch = ev.rematch === true;
        const pair: Pair = { id: st.pairSeq + 1, role: ev.role, common: [...ev.common], rematch };
        // A restored pair closes the window; an ordinary one leaves it open
        // (a rematch names the pair that ended last, even while paired anew).
        if (rematch) s.closeGoBack();
        s.set({ goBackRefused: false });
        s.dropPeer()
          .fx({ type: 'clear-timer', name: 'auto-next' }, { type: 'clear-timer', name: 'retry-join' })
          .set({ phase: 'connecting', pair, pairSeq: pair.id, serverPaired: true, notice: null, leftReason: null })
          .fx(
            // Relay if the join said so (the server drops our other candidates)
            // or if the person asked for it since.
            { type: 'open-peer', pair, iceServers: ev.iceServers, relayOnly: st.joinRelay || relayFor(st), mode: st.search.mode },
            { type: 'start-timer', name: 'connect', ms: CONNECT_TIMEOUT_MS },
          );
      } else {
        // Matched after we stopped (the leave crossed the match): end it.
        s.set({ serverPaired: true }).send({ type: 'leave' }).set({ serverPaired: false });
      }
      break;
    }

    case 'peer-left':
      s.set({ serverPaired: false });
      if (st.phase === 'connecting' || st.phase === 'connected') {
        // Never offered after a report, a timeout or a disconnect.
        if (ev.reason === 'next' || ev.reason === 'leave') s.openGoBack();
        else s.closeGoBack();
        s.dropPeer().set({ phase: 'ended', leftReason: ev.reason, notice: null });
        if (st.search.mode === 'video') s.fx({ type: 'start-timer', name: 'auto-next', ms: AUTO_NEXT_MS });
      }
      break;

    case 'peer-connected':
      if (st.pair?.id === ev.pairId && (st.phase === 'connecting' || st.phase === 'connected')) {
        s.set({ phase: 'connected' }).fx({ type: 'clear-timer', name: 'connect' });
      }
      break;

    case 'peer-failed':
      if (st.pair?.id === ev.pairId && (st.phase === 'connecting' || st.phase === 'connected')) {
        s.closeGoBack().dropPeer().set({ phase: 'searching', notice: 'failed' }).requeue();
      }
      break;

    case 'next':
      if (st.phase === 'connecting' || st.phase === 'connected') {
        s.dropPeer().set({ phase: 'searching', notice: null, leftReason: null }).requeue();
        if (st.conn === 'open') s.openGoBack();
      } else if (st.phase === 'ended') {
        s.fx({ type: 'clear-timer', name: 'auto-next' }).set({ phase: 'searching', notice: null, leftReason: null }).requeue();
      }
      break;

    case 'report':
      if (st.phase === 'connecting' || st.phase === 'connected') {
        // The server ends the pair, blocks the partner and re-queues us.
        s.closeGoBack()
          .dropPeer()
          .send({ type: 'report', reason: ev.reason })
          .set({ phase: 'searching', notice: 'reported', leftReason: null, serverPaired: false });
      }
      break;

    case 'stop': {
      if (st.phase === 'idle' || st.phase === 'gate' || st.phase === 'banned') break;
      const wasQueuedOrPaired = st.phase !== 'starting' && (st.serverPaired || isActive(st.phase));
      s.dropPeer().fx(
        { type: 'clear-timer', name: 'auto-next' },
        { type: 'clear-timer', name: 'retry-join' },
        { type: 'release-media' },
      );
      if (wasQueuedOrPaired && st.conn === 'open') s.send({ type: 'leave' }).set({ serverPaired: false });
      s.closeGoBack().set({ phase: 'idle', notice: null, leftReason: null, mediaError: null, goBackRefused: false });
      break;
    }

    case 'go-back': {
      const gb = st.goBack;
      if (!gb || gb.asked || st.conn !== 'open') break;
      s.send({ type: 'rematch' }).set({ goBack: { ...gb, asked: true } });
      if (st.phase === 'connecting' || st.phase === 'connected') {
        // The server ends the current pair as `next` does and queues us again.
        s.dropPeer().set({ phase: 'searching', notice: null, leftReason: null, serverPaired: false });
      } else if (st.phase === 'ended') {
        // Wait here for the stranger rather than meet someone new meanwhile.
        s.fx({ type: 'clear-timer', name: 'auto-next' });
      }
      break;
    }

    case 'rematch-wanted':
      // After Stop we are gone: the stranger's wish is not put to us.
      if (st.phase === 'idle' || st.phase === 'gate' || st.phase === 'starting' || st.phase === 'banned') break;
      if (st.goBack) s.set({ goBack: { ...st.goBack, wanted: true } });
      else s.openGoBack(true);
      // Give the person the window to answer instead of searching meanwhile.
      if (st.phase === 'ended') s.fx({ type: 'clear-timer', name: 'auto-next' });
      break;

    case 'server-error': {
      const refQueue = ev.ref === 'join' || ev.ref === 'next';
      if (ev.code === 'face_required') {
        s.set({ faceRequired: true });
        if (st.phase === 'searching' || st.phase === 'waiting-face') {
          s.set({ phase: 'waiting-face' });
          // A verdict may have arrived between our join and this refusal.
          if (st.facePresent) s.fx({ type: 'start-timer', name: 'retry-join', ms: RETRY_JOIN_MS });
        }
      } else if (ev.code === 'rate_limited' && refQueue) {
        if (st.phase === 'searching') s.set({ notice: 'rate-limited' }).fx({ type: 'start-timer', name: 'retry-join', ms: RETRY_JOIN_MS });
      } else if (ev.code === 'rematch_unavailable') {
        s.closeGoBack().set({ goBackRefused: true });
        if (st.phase === 'ended' && st.search.mode === 'video') s.set({ phase: 'searching', notice: null }).requeue();
      } else if (ev.code === 'rate_limited' && ev.ref === 'rematch') {
        // Not counted: the button may be pressed again.
        if (st.goBack) s.set({ goBack: { ...st.goBack, asked: false } });
      } else if (ev.code === 'unavailable') {
        if (st.phase === 'searching') s.set({ notice: 'unavailable' }).fx({ type: 'start-timer', name: 'retry-join', ms: UNAVAILABLE_RETRY_MS });
      }
      break;
    }

    case 'banned':
      s.closeGoBack()
        .dropPeer()
        .fx({ type: 'clear-timer', name: 'auto-next' }, { type: 'clear-timer', name: 'retry-join' }, { type: 'release-media' })
        .set({ phase: 'banned', bannedUntil: ev.until, serverPaired: false });
      break;

    case 'face':
      s.set({ facePresent: ev.present });
      if (ev.present && st.phase === 'waiting-face') s.set({ phase: 'searching' }).requeue();
      break;

    case 'timer':
      if (ev.name === 'connect') {
        if (st.phase === 'connecting') s.dropPeer().set({ phase: 'searching', notice: 'failed' }).requeue();
      } else if (ev.name === 'auto-next') {
        if (st.phase === 'ended') s.set({ phase: 'searching', notice: null }).requeue();
      } else if (ev.name === 'go-back') {
        const held = st.goBack !== null && (st.goBack.asked || st.goBack.wanted);
        s.set({ goBack: null });
        // We waited in "ended" for the stranger who did not come back.
        if (held && st.phase === 'ended' && st.search.mode === 'video') s.set({ phase: 'searching', notice: null }).requeue();
      } else if (ev.name === 'retry-join') {
        if (st.phase === 'searching' || (st.phase === 'waiting-face' && st.facePresent)) {
          s.set({ phase: 'searching', lastJoinKey: null }).requeue();
        }
      }
      break;
  }
  return { state: s.st, effects: s.effects };
}
