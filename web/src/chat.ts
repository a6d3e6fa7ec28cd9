// Text chat over the pair's RTCDataChannel (peer to peer, never through the
// server). A tiny JSON framing carries messages and the typing indicator;
// anything malformed or oversized from the other side is dropped. Play
// frames (cards, games, kudos) share the channel; play/frames.ts checks them.

import { decodePlayFrame, encodePlayFrame, isPlayType, type PlayFrame } from './play/frames';

export const MAX_CHAT_CHARS = 500;
/** Largest frame we accept from the partner (bytes of JSON text). */
export const MAX_FRAME_CHARS = 4 * MAX_CHAT_CHARS + 64;

export type ChatFrame = { t: 'msg'; text: string } | { t: 'typing'; on: boolean } | PlayFrame;

/** Trims and cuts a message to the limit (in code points). Null if empty. */
export function cleanMessage(text: string): string | null {
  // eslint-disable-next-line no-control-regex
  const t = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
  if (!t) return null;
  const cps = Array.from(t);
  return cps.length > MAX_CHAT_CHARS ? cps.slice(0, MAX_CHAT_CHARS).join('') : t;
}

export function encodeFrame(f: ChatFrame): string {
  return f.t === 'msg' || f.t === 'typing' ? JSON.stringify(f) : encodePlayFrame(f);
}

export function decodeFrame(raw: unknown): ChatFrame | null {
  if (typeof raw !== 'string' || raw.length > MAX_FRAME_CHARS) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (isPlayType(o.t)) return decodePlayFrame(o, raw.length);
  if (o.t === 'msg' && typeof o.text === 'string') {
    const text = cleanMessage(o.text);
    return text === null ? null : { t: 'msg', text };
  }
  if (o.t === 'typing' && typeof o.on === 'boolean') return { t: 'typing', on: o.on };
  return null;
}

export interface ChatEvents {
  open(): void;
  message(text: string): void;
  typing(on: boolean): void;
  /** A card, game move or kudos that passed validation (the rules come after). */
  play?(f: PlayFrame): void;
}

/** How long the partner's typing indicator lasts without a refresh. */
export const TYPING_TTL_MS = 5_000;
/** How often we re-announce that we are still typing. */
export const TYPING_REFRESH_MS = 2_000;

export class ChatChannel {
  private typingSentAt = 0;
  private typingOn = false;
  private remoteTypingTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly dc: RTCDataChannel,
    private readonly events: ChatEvents,
  ) {
    dc.onopen = () => !this.closed && this.events.open();
    dc.onmessage = (ev: MessageEvent) => this.onFrame(ev.data);
    if (dc.readyState === 'open') queueMicrotask(() => !this.closed && this.events.open());
  }

  get isOpen(): boolean {
    return !this.closed && this.dc.readyState === 'open';
  }

  /** Sends a message; returns the cleaned text that went out, or null. */
  send(text: string): string | null {
    const clean = cleanMessage(text);
    if (clean === null || !this.isOpen) return null;
    this.dc.send(encodeFrame({ t: 'msg', text: clean }));
    this.typingOn = false;
    this.typingSentAt = 0;
    return clean;
  }

  /** Sends a play frame; false when the channel is not open. */
  sendPlay(f: PlayFrame): boolean {
    if (!this.isOpen) return false;
    this.dc.send(encodePlayFrame(f));
    return true;
  }

  /** Sends any text as it is, as a modified client could (the browser tests' hook). */
  sendRaw(text: string): boolean {
    if (!this.isOpen) return false;
    this.dc.send(text);
    return true;
  }

  /** Call on every edit of the message box with whether it has text. */
  setTyping(on: boolean, now = Date.now()): void {
    if (!this.isOpen) return;
    if (on === this.typingOn && (!on || now - this.typingSentAt < TYPING_REFRESH_MS)) return;
    this.typingOn = on;
    this.typingSentAt = now;
    this.dc.send(encodeFrame({ t: 'typing', on }));
  }

  close(): void {
    this.closed = true;
    this.dc.onopen = this.dc.onmessage = null;
    if (this.remoteTypingTimer) clearTimeout(this.remoteTypingTimer);
    this.remoteTypingTimer = null;
  }

  private onFrame(raw: unknown): void {
    if (this.closed) return;
    const f = decodeFrame(raw);
    if (!f) return;
    if (f.t === 'msg') {
      this.setRemoteTyping(false);
      this.events.message(f.text);
    } else if (f.t === 'typing') {
      this.setRemoteTyping(f.on);
    } else {
      // A page bug in a handler must not break the channel for later frames.
      try {
        this.events.play?.(f);
      } catch (e) {
        console.warn('[play] frame handler failed', e);
      }
    }
  }

  private setRemoteTyping(on: boolean): void {
    if (this.remoteTypingTimer) clearTimeout(this.remoteTypingTimer);
    this.remoteTypingTimer = on ? setTimeout(() => this.events.typing(false), TYPING_TTL_MS) : null;
    this.events.typing(on);
  }
}
