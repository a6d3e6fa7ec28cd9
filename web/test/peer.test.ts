import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { livePeerCount, PeerSession, type PeerEvents } from '../src/peer';
import type { SignalData } from '../src/protocol';

type Desc = { type: string; sdp: string };

class FakePC {
  static last: FakePC;
  signalingState = 'stable';
  connectionState = 'new';
  iceConnectionState = 'new';
  localDescription: Desc | null = null;
  remoteDescription: Desc | null = null;
  tracks: unknown[] = [];
  candidates: unknown[] = [];
  restarts = 0;
  closed = false;
  channels: { label: string; opts: unknown }[] = [];
  onicecandidate: ((e: { candidate: unknown }) => void) | null = null;
  onnegotiationneeded: (() => void) | null = null;
  ontrack: ((e: unknown) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  constructor(public config: RTCConfiguration) {
    FakePC.last = this;
  }
  createDataChannel(label: string, opts: unknown) {
    this.channels.push({ label, opts });
    return { label, readyState: 'connecting', close() {}, onopen: null, onmessage: null };
  }
  addTrack(t: unknown) {
    this.tracks.push(t);
    return {};
  }
  async setLocalDescription() {
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: 'answer-sdp' };
      this.signalingState = 'stable';
    } else {
      this.localDescription = { type: 'offer', sdp: 'offer-sdp' };
      this.signalingState = 'have-local-offer';
    }
  }
  async setRemoteDescription(d: Desc) {
    this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  async addIceCandidate(c: unknown) {
    if (!this.remoteDescription) throw new Error('no remote description');
    this.candidates.push(c);
  }
  restartIce() {
    this.restarts++;
  }
  getSenders() {
    return [];
  }
  getReceivers() {
    return [];
  }
  getTransceivers() {
    return [];
  }
  close() {
    this.closed = true;
  }
  setConn(state: string) {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
}

function events() {
  const out = { signals: [] as SignalData[], connected: 0, failed: [] as string[] };
  const ev: PeerEvents = {
    signal: (d) => out.signals.push(d),
    connected: () => out.connected++,
    failed: (w) => out.failed.push(w),
    remoteStream: () => undefined,
    channel: () => undefined,
  };
  return { out, ev };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const cand = (n: number): SignalData => ({ candidate: { candidate: `candidate:${n}`, sdpMid: '0', sdpMLineIndex: 0 } });

beforeEach(() => {
  vi.stubGlobal('RTCPeerConnection', FakePC);
  vi.stubGlobal('MediaStream', class {});
});
afterEach(() => vi.unstubAllGlobals());

describe('PeerSession', () => {
  it('uses the ICE servers, relay policy and a pre-negotiated chat channel', () => {
    const { ev } = events();
    const p = new PeerSession({ role: 'offerer', iceServers: [{ urls: 'turn:x' }], relayOnly: true, tracks: ['a', 'v'] as never, stream: null }, ev);
    const pc = FakePC.last;
    expect(pc.config).toEqual({ iceServers: [{ urls: 'turn:x' }], iceTransportPolicy: 'relay' });
    expect(pc.channels).toEqual([{ label: 'chat', opts: { negotiated: true, id: 0, ordered: true } }]);
    expect(pc.tracks).toEqual(['a', 'v']);
    p.close();
  });

  it('the offerer sends an offer on negotiationneeded', async () => {
    const { out, ev } = events();
    const p = new PeerSession({ role: 'offerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, ev);
    FakePC.last.onnegotiationneeded?.();
    await tick();
    expect(out.signals).toEqual([{ description: { type: 'offer', sdp: 'offer-sdp' } }]);
    p.close();
  });

  it('the answerer never starts the first exchange, and answers an offer', async () => {
    const { out, ev } = events();
    const p = new PeerSession({ role: 'answerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, ev);
    const pc = FakePC.last;
    pc.onnegotiationneeded?.();
    await tick();
    expect(out.signals).toEqual([]);
    await p.handleSignal({ description: { type: 'offer', sdp: 'remote-offer' } });
    expect(out.signals).toEqual([{ description: { type: 'answer', sdp: 'answer-sdp' } }]);
    expect(p.hasNegotiated).toBe(true);
    // Later renegotiation may start from either side.
    pc.onnegotiationneeded?.();
    await tick();
    expect(out.signals.at(-1)).toEqual({ description: { type: 'offer', sdp: 'offer-sdp' } });
    p.close();
  });

  it('buffers candidates until the remote description is set', async () => {
    const { ev } = events();
    const p = new PeerSession({ role: 'answerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, ev);
    const pc = FakePC.last;
    await p.handleSignal(cand(1));
    await p.handleSignal(cand(2));
    expect(pc.candidates).toEqual([]);
    await p.handleSignal({ description: { type: 'offer', sdp: 'o' } });
    expect(pc.candidates).toEqual([(cand(1) as { candidate: unknown }).candidate, (cand(2) as { candidate: unknown }).candidate]);
    await p.handleSignal(cand(3));
    expect(pc.candidates).toHaveLength(3);
    p.close();
  });

  it('glare: the impolite offerer ignores a colliding offer, the polite answerer accepts it', async () => {
    const a = events();
    const off = new PeerSession({ role: 'offerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, a.ev);
    const pcA = FakePC.last;
    pcA.onnegotiationneeded?.();
    await tick();
    expect(pcA.signalingState).toBe('have-local-offer');
    await off.handleSignal({ description: { type: 'offer', sdp: 'colliding' } });
    expect(pcA.remoteDescription).toBeNull();
    // ... and candidates that belong to the ignored offer do not throw.
    await expect(off.handleSignal(cand(9))).resolves.toBeUndefined();
    off.close();

    const b = events();
    const pol = new PeerSession({ role: 'answerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, b.ev);
    const pcB = FakePC.last;
    await pol.handleSignal({ description: { type: 'offer', sdp: 'first' } });
    pcB.onnegotiationneeded?.();
    await tick();
    expect(pcB.signalingState).toBe('have-local-offer');
    await pol.handleSignal({ description: { type: 'offer', sdp: 'colliding' } });
    expect(pcB.remoteDescription).toEqual({ type: 'offer', sdp: 'colliding' });
    expect(b.out.signals.at(-1)).toEqual({ description: { type: 'answer', sdp: 'answer-sdp' } });
    pol.close();
  });

  it('reports connected once, restarts ICE once on disconnected (offerer), fails on failed', async () => {
    vi.useFakeTimers();
    const { out, ev } = events();
    const p = new PeerSession({ role: 'offerer', iceServers: [], relayOnly: false, tracks: [], stream: null, disconnectGraceMs: 5000 }, ev);
    const pc = FakePC.last;
    pc.setConn('connected');
    pc.setConn('connected');
    expect(out.connected).toBe(1);
    pc.setConn('disconnected');
    pc.setConn('disconnected');
    expect(pc.restarts).toBe(1);
    pc.setConn('connected');
    vi.advanceTimersByTime(6000);
    expect(out.failed).toEqual([]);
    pc.setConn('disconnected');
    expect(pc.restarts).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(out.failed).toEqual(['disconnected']);
    pc.setConn('failed');
    expect(out.failed).toEqual(['disconnected', 'ice-failed']);
    p.close();
    vi.useRealTimers();
  });

  it('the answerer does not restart ICE itself', () => {
    const { ev } = events();
    const p = new PeerSession({ role: 'answerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, ev);
    FakePC.last.setConn('disconnected');
    expect(FakePC.last.restarts).toBe(0);
    p.close();
  });

  it('close() is idempotent, detaches handlers and keeps the live count right', () => {
    const before = livePeerCount();
    const { out, ev } = events();
    const p = new PeerSession({ role: 'offerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, ev);
    const pc = FakePC.last;
    expect(livePeerCount()).toBe(before + 1);
    p.close();
    p.close();
    expect(livePeerCount()).toBe(before);
    expect(pc.closed).toBe(true);
    expect(pc.onicecandidate).toBeNull();
    expect(pc.onconnectionstatechange).toBeNull();
    expect(out.signals).toEqual([]);
  });

  it('with relay only, sends relay candidates only, without their related address', () => {
    const { out, ev } = events();
    const p = new PeerSession({ role: 'offerer', iceServers: [{ urls: 'turn:x' }], relayOnly: true, tracks: [], stream: null }, ev);
    const pc = FakePC.last;
    const fire = (candidate: string) => pc.onicecandidate?.({ candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' } });
    fire('candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host');
    fire('candidate:3 1 udp 1677729535 198.51.100.7 50432 typ srflx raddr 192.0.2.10 rport 54400');
    fire('candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay raddr 198.51.100.7 rport 50432');
    pc.onicecandidate?.({ candidate: { candidate: '' } });
    expect(out.signals).toEqual([
      { candidate: { candidate: 'candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay raddr 0.0.0.0 rport 0', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' } },
    ]);
    p.close();
  });

  it('does not send end-of-candidates or empty candidates', () => {
    const { out, ev } = events();
    const p = new PeerSession({ role: 'offerer', iceServers: [], relayOnly: false, tracks: [], stream: null }, ev);
    const pc = FakePC.last;
    pc.onicecandidate?.({ candidate: null });
    pc.onicecandidate?.({ candidate: { candidate: '' } });
    pc.onicecandidate?.({ candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' } });
    expect(out.signals).toEqual([{ candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' } }]);
    p.close();
  });
});
