// The signaling socket: one WebSocket to /ws that reconnects with backoff and
// resumes the session (GET /ws?resume=TOKEN) so a network blip does not end
// the call. Outgoing `signal`s are held while the socket is down and flushed
// only if the same session comes back (they would mean nothing to a fresh one).

import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { parseServerMessage, type ClientMessage, type ServerMessage } from './protocol';

/** The subset of the WebSocket API we use (so tests can pass a fake). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface SignalingEvents {
  /** A welcome arrived. `resumed` is true when the same session came back. */
  welcome(msg: Extract<ServerMessage, { type: 'welcome' }>, resumed: boolean): void;
  /** Any other server message. */
  message(msg: ServerMessage): void;
  /** The socket went down; a reconnect is scheduled unless stopped. */
  down(info: { code: number; retryInMs: number | null }): void;
}

export interface SignalingOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  backoff?: BackoffOptions;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (id: unknown) => void;
  random?: () => number;
  /** Most signals held while disconnected (the server replays up to 64 too). */
  maxBuffered?: number;
}

const OPEN = 1;

export function signalingUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export class SignalingSocket {
  private ws: SocketLike | null = null;
  private session: string | null = null;
  private resumeToken: string | null = null;
  private welcomed = false;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = true;
  private pausedUntil = 0;
  private held: ClientMessage[] = [];
  private readonly opts: Required<Omit<SignalingOptions, 'url'>> & { url: string };

  constructor(
    private readonly events: SignalingEvents,
    options: SignalingOptions,
  ) {
    this.opts = {
      url: options.url,
      createSocket: options.createSocket ?? ((u) => new WebSocket(u) as unknown as SocketLike),
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      setTimer: options.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: options.clearTimer ?? ((id) => clearTimeout(id as ReturnType<typeof setTimeout>)),
      random: options.random ?? Math.random,
      maxBuffered: options.maxBuffered ?? 64,
    };
  }

  /** True once a welcome arrived on the current connection. */
  get ready(): boolean {
    return this.welcomed && this.ws?.readyState === OPEN;
  }

  get sessionId(): string | null {
    return this.session;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (no reconnect) and forgets the session. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
    this.held = [];
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
  }

  /** Do not reconnect before `untilMs` (epoch ms), e.g. while banned. */
  pauseUntil(untilMs: number): void {
    this.pausedUntil = untilMs;
  }

  /** Reconnect now if we are waiting to (e.g. the browser came back online). */
  kick(): void {
    if (this.stopped || this.ws || Date.now() < this.pausedUntil) return;
    this.cancelTimer();
    this.connect();
  }

  /**
   * Sends a message. Returns false when it could not go out now. Signals are
   * held while the socket is down and flushed if the session is resumed;
   * other messages are dropped (the state machine reconciles on welcome).
   */
  send(msg: ClientMessage): boolean {
    if (this.ready && this.ws) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    if (msg.type === 'signal' && !this.stopped) {
      this.held.push(msg);
      if (this.held.length > this.opts.maxBuffered) this.held.shift();
    }
    return false;
  }

  /** Drops held signals (the pair they belonged to has ended). */
  clearHeld(): void {
    this.held = [];
  }

  /** Test hook: force-close the transport as a network blip would. */
  simulateDrop(): void {
    try {
      this.ws?.close(4000, 'simulated drop');
    } catch {
      /* ignore */
    }
  }

  private connect(): void {
    this.timer = null;
    const url = this.resumeToken ? `${this.opts.url}?resume=${encodeURIComponent(this.resumeToken)}` : this.opts.url;
    let ws: SocketLike;
    try {
      ws = this.opts.createSocket(url);
    } catch {
      this.scheduleReconnect(1006);
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return;
      const msg = parseServerMessage(ev.data);
      if (!msg) return;
      if (msg.type === 'welcome') this.onWelcome(msg);
      else this.events.message(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.detach(ws);
      this.ws = null;
      this.welcomed = false;
      this.scheduleReconnect(ev.code);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  private onWelcome(msg: Extract<ServerMessage, { type: 'welcome' }>): void {
    const resumed = this.session !== null && msg.session === this.session;
    this.session = msg.session;
    this.resumeToken = msg.resume;
    this.welcomed = true;
    this.attempt = 0;
    const held = this.held;
    this.held = [];
    this.events.welcome(msg, resumed);
    if (resumed) for (const m of held) this.send(m);
  }

  private scheduleReconnect(code: number): void {
    if (this.stopped) {
      this.events.down({ code, retryInMs: null });
      return;
    }
    let delay = backoffDelay(this.attempt++, this.opts.backoff, this.opts.random);
    const wait = this.pausedUntil - Date.now();
    if (wait > delay) delay = wait;
    this.events.down({ code, retryInMs: delay });
    this.cancelTimer();
    this.timer = this.opts.setTimer(() => this.connect(), delay);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
  }

  private detach(ws: SocketLike): void {
    ws.onopen = ws.onmessage = ws.onerror = null;
    ws.onclose = null;
  }
}
