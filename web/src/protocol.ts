// Wire types for PROTOCOL.md (signaling protocol, version 1) and a strict
// parser for what the server sends. Nothing here touches the DOM or network.

export type Mode = 'video' | 'text';
export type Role = 'offerer' | 'answerer';
export type PeerLeftReason = 'next' | 'leave' | 'disconnect' | 'report' | 'timeout';
export type ReportReason = 'nudity' | 'harassment' | 'spam' | 'underage' | 'other';

export const REPORT_REASONS: readonly ReportReason[] = ['nudity', 'harassment', 'spam', 'underage', 'other'];
const PEER_LEFT_REASONS: readonly PeerLeftReason[] = ['next', 'leave', 'disconnect', 'report', 'timeout'];

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The `data` of a `signal`: exactly one of description or candidate. */
export type SignalData =
  | { description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp: string } }
  | {
      candidate: {
        candidate: string;
        sdpMid: string | null;
        sdpMLineIndex: number | null;
        usernameFragment?: string;
      };
    };

export interface Limits {
  maxMessage: number;
  ratePerSec: number;
  burst: number;
}

export type ServerMessage =
  | { type: 'welcome'; v: number; session: string; resume: string; online: number; limits: Limits | null; iceServers: IceServer[] }
  | { type: 'online'; count: number }
  | { type: 'queued'; mode: Mode | null; interests: string[] }
  | { type: 'matched'; role: Role; common: string[]; iceServers: IceServer[]; rematch: boolean }
  | { type: 'signal'; data: SignalData }
  | { type: 'rematch_wanted' }
  | { type: 'peer_left'; reason: PeerLeftReason | 'unknown' }
  | { type: 'error'; code: string; message: string; ref: string | null }
  | { type: 'banned'; until: number; reason: string };

export type ClientMessage =
  | { type: 'join'; mode: Mode; interests: string[]; fallback: boolean; relayOnly?: boolean }
  | { type: 'signal'; data: SignalData }
  | { type: 'next' }
  | { type: 'leave' }
  | { type: 'rematch' }
  | { type: 'report'; reason: ReportReason }
  | { type: 'face'; present: boolean };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Keeps only well-formed RTCIceServer entries (urls a string or string list). */
export function parseIceServers(v: unknown): IceServer[] {
  if (!Array.isArray(v)) return [];
  const out: IceServer[] = [];
  for (const s of v) {
    if (!isObj(s)) continue;
    const urls = typeof s.urls === 'string' ? s.urls : strList(s.urls);
    if (typeof urls !== 'string' && urls.length === 0) continue;
    const server: IceServer = { urls };
    if (typeof s.username === 'string') server.username = s.username;
    if (typeof s.credential === 'string') server.credential = s.credential;
    out.push(server);
  }
  return out;
}

/** True when at least one of the servers is a TURN relay (turn: or turns:). */
export function hasTurn(servers: readonly IceServer[]): boolean {
  return servers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/i.test(u.trim())));
}

/**
 * Validates the `data` of a signal. Returns null for anything that is not
 * exactly one well-typed description or candidate.
 */
export function parseSignalData(v: unknown): SignalData | null {
  if (!isObj(v)) return null;
  const hasD = v.description !== undefined && v.description !== null;
  const hasC = v.candidate !== undefined && v.candidate !== null;
  if (hasD === hasC) return null;
  if (hasD) {
    const d = v.description;
    if (!isObj(d)) return null;
    const type = d.type;
    if (type !== 'offer' && type !== 'answer' && type !== 'pranswer' && type !== 'rollback') return null;
    const sdp = type === 'rollback' ? (str(d.sdp) ?? '') : str(d.sdp);
    if (sdp === null) return null;
    return { description: { type, sdp } };
  }
  const c = v.candidate;
  if (!isObj(c) || typeof c.candidate !== 'string') return null;
  const sdpMid = c.sdpMid === undefined || c.sdpMid === null ? null : str(c.sdpMid);
  if (sdpMid === null && c.sdpMid !== undefined && c.sdpMid !== null) return null;
  const idx = c.sdpMLineIndex === undefined || c.sdpMLineIndex === null ? null : int(c.sdpMLineIndex);
  if (idx === null && c.sdpMLineIndex !== undefined && c.sdpMLineIndex !== null) return null;
  const cand: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null; usernameFragment?: string } = {
    candidate: c.candidate,
    sdpMid,
    sdpMLineIndex: idx,
  };
  if (typeof c.usernameFragment === 'string') cand.usernameFragment = c.usernameFragment;
  return { candidate: cand };
}

/** Builds the wire form of a local ICE candidate (only the fields PROTOCOL.md names). */
export function candidateSignal(c: {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}): SignalData {
  const cand: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null; usernameFragment?: string } = {
    candidate: c.candidate,
    sdpMid: c.sdpMid ?? null,
    sdpMLineIndex: c.sdpMLineIndex ?? null,
  };
  if (c.usernameFragment) cand.usernameFragment = c.usernameFragment;
  return { candidate: cand };
}

/**
 * "Hide my IP": the candidate line to send, or null to send nothing. Only
 * relay candidates pass, read by position as the server does (RFC 8839:
 * `candidate:` foundation component transport priority address port `typ`
 * type [extensions]); their related address (raddr/rport, informational
 * only) is zeroed, since it may hold the address the TURN server saw.
 */
export function relayOnlyCandidate(line: string): string | null {
  if (!line.startsWith('candidate:')) return null;
  const f = line.slice('candidate:'.length).split(' ');
  if (f.length < 8 || f.slice(0, 8).includes('') || f[6] !== 'typ' || f[7] !== 'relay') return null;
  for (let i = 8; i + 1 < f.length; i += 2) {
    if (f[i] === 'raddr') f[i + 1] = f[i + 1].includes(':') ? '::' : '0.0.0.0';
    else if (f[i] === 'rport') f[i + 1] = '0';
  }
  return `candidate:${f.join(' ')}`;
}

/** The ICE servers for one pair: the matched's own (fresh TURN credentials), else the welcome's. */
export function iceServersForPair(matched: readonly IceServer[], welcome: readonly IceServer[]): IceServer[] {
  return [...(matched.length ? matched : welcome)];
}

/**
 * Parses one text frame from the server. Returns null for frames that are not
 * JSON objects with a known `type` and the fields we rely on; unknown extra
 * fields are ignored, as PROTOCOL.md asks.
 */
export function parseServerMessage(raw: string): ServerMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isObj(v) || typeof v.type !== 'string') return null;
  switch (v.type) {
    case 'welcome': {
      const session = str(v.session);
      const resume = str(v.resume);
      if (session === null || resume === null) return null;
      const l = v.limits;
      const limits: Limits | null = isObj(l)
        ? { maxMessage: int(l.maxMessage) ?? 65536, ratePerSec: int(l.ratePerSec) ?? 20, burst: int(l.burst) ?? 60 }
        : null;
      return {
        type: 'welcome',
        v: int(v.v) ?? 1,
        session,
        resume,
        online: Math.max(0, int(v.online) ?? 0),
        limits,
        iceServers: parseIceServers(v.iceServers),
      };
    }
    case 'online': {
      const count = int(v.count);
      return count === null ? null : { type: 'online', count: Math.max(0, count) };
    }
    case 'queued':
      return {
        type: 'queued',
        mode: v.mode === 'video' || v.mode === 'text' ? v.mode : null,
        interests: strList(v.interests),
      };
    case 'matched': {
      if (v.role !== 'offerer' && v.role !== 'answerer') return null;
      return {
        type: 'matched',
        role: v.role,
        common: strList(v.common),
        iceServers: parseIceServers(v.iceServers),
        // "Going back": true only when the server says exactly true.
        rematch: v.rematch === true,
      };
    }
    case 'rematch_wanted':
      return { type: 'rematch_wanted' };
    case 'signal': {
      const data = parseSignalData(v.data);
      return data ? { type: 'signal', data } : null;
    }
    case 'peer_left': {
      const r = v.reason;
      const reason = PEER_LEFT_REASONS.includes(r as PeerLeftReason) ? (r as PeerLeftReason) : 'unknown';
      return { type: 'peer_left', reason };
    }
    case 'error':
      return {
        type: 'error',
        code: str(v.code) ?? 'internal',
        message: str(v.message) ?? '',
        ref: str(v.ref),
      };
    case 'banned':
      return { type: 'banned', until: int(v.until) ?? 0, reason: str(v.reason) ?? '' };
    default:
      return null;
  }
}
