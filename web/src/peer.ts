// One RTCPeerConnection for one pair: roles from `matched` (the offerer makes
// the first offer), glare-free renegotiation ("perfect negotiation", the
// answerer is the polite side), trickle ICE with candidates buffered until the
// remote description is set, one ICE restart on `disconnected`, and a clean
// close that leaves nothing running.

import { candidateSignal, relayOnlyCandidate, type IceServer, type Role, type SignalData } from './protocol';

export interface PeerEvents {
  signal(data: SignalData): void;
  connected(): void;
  failed(why: string): void;
  remoteStream(stream: MediaStream): void;
  channel(dc: RTCDataChannel): void;
}

export interface PeerOptions {
  role: Role;
  iceServers: IceServer[];
  relayOnly: boolean;
  /** Local tracks to send (none in text mode). */
  tracks: MediaStreamTrack[];
  stream: MediaStream | null;
  /** How long `disconnected` may last after the ICE restart before we give up. */
  disconnectGraceMs?: number;
}

let live = 0;
let created = 0;

/** Number of peer connections created and not yet closed (a test hook reads it). */
export function livePeerCount(): number {
  return live;
}

export function createdPeerCount(): number {
  return created;
}

export class PeerSession {
  readonly pc: RTCPeerConnection;
  readonly polite: boolean;
  private makingOffer = false;
  private ignoreOffer = false;
  private negotiated = false;
  private pending: RTCIceCandidateInit[] = [];
  private restarted = false;
  private closed = false;
  private isConnected = false;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private remote: MediaStream | null = null;
  private dc: RTCDataChannel | null = null;
  /** Serialises remote-description handling so signals apply in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: PeerOptions,
    private readonly events: PeerEvents,
  ) {
    this.polite = opts.role === 'answerer';
    const config: RTCConfiguration = { iceServers: opts.iceServers as RTCIceServer[] };
    if (opts.relayOnly) config.iceTransportPolicy = 'relay';
    this.pc = new RTCPeerConnection(config);
    live++;
    created++;

    const pc = this.pc;
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed || !candidate || !candidate.candidate) return;
      // The relay policy already gathers relay candidates only; this makes
      // sure no other kind, and no related address, ever leaves the page.
      const line = opts.relayOnly ? relayOnlyCandidate(candidate.candidate) : candidate.candidate;
      if (line === null) return;
      const { sdpMid, sdpMLineIndex, usernameFragment } = candidate;
      this.events.signal(candidateSignal({ candidate: line, sdpMid, sdpMLineIndex, usernameFragment }));
    };
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.ontrack = (ev) => {
      if (this.closed) return;
      if (!this.remote) this.remote = new MediaStream();
      if (!this.remote.getTracks().includes(ev.track)) this.remote.addTrack(ev.track);
      this.events.remoteStream(this.remote);
    };
    pc.onconnectionstatechange = () => this.onState();
    pc.oniceconnectionstatechange = () => this.onState();

    // Chat: a pre-negotiated channel, so neither side waits for the other to
    // create it and the offerer's first offer already carries it.
    this.dc = pc.createDataChannel('chat', { negotiated: true, id: 0, ordered: true });
    this.events.channel(this.dc);

    for (const t of opts.tracks) {
      if (opts.stream) pc.addTrack(t, opts.stream);
      else pc.addTrack(t);
    }
  }

  /** True once the offer/answer exchange has completed once. */
  get hasNegotiated(): boolean {
    return this.negotiated;
  }

  /** Handles a `signal` from the partner. */
  handleSignal(data: SignalData): Promise<void> {
    this.chain = this.chain.then(() => this.apply(data)).catch((e: unknown) => {
      if (!this.closed) console.warn('[peer] signal failed', e);
    });
    return this.chain;
  }

  /** Swaps the outgoing track of one kind without renegotiating. */
  async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    if (this.closed) return;
    const sender = this.pc.getSenders().find((s) => s.track?.kind === kind || (s.track === null && this.senderKind(s) === kind));
    if (sender) await sender.replaceTrack(track);
  }

  async getInboundVideoStats(): Promise<{ framesDecoded: number; bytesReceived: number }> {
    let framesDecoded = 0;
    let bytesReceived = 0;
    if (this.closed) return { framesDecoded, bytesReceived };
    const stats = await this.pc.getStats();
    stats.forEach((r: { type: string; kind?: string; framesDecoded?: number; bytesReceived?: number }) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        framesDecoded += r.framesDecoded ?? 0;
        bytesReceived += r.bytesReceived ?? 0;
      }
    });
    return { framesDecoded, bytesReceived };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    live--;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    const pc = this.pc;
    pc.onicecandidate = pc.onnegotiationneeded = pc.ontrack = null;
    pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
    try {
      this.dc?.close();
    } catch {
      /* ignore */
    }
    this.dc = null;
    for (const r of pc.getReceivers()) r.track?.stop();
    this.remote = null;
    this.pending = [];
    pc.close();
  }

  private senderKind(s: RTCRtpSender): string | undefined {
    return this.pc.getTransceivers().find((t) => t.sender === s)?.receiver.track?.kind;
  }

  private async negotiate(): Promise<void> {
    // The answerer never starts the first exchange: roles come from `matched`.
    if (this.closed || (!this.negotiated && this.polite)) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const d = this.pc.localDescription;
      if (d && !this.closed) this.events.signal({ description: { type: d.type, sdp: d.sdp } });
    } catch (e) {
      if (!this.closed) console.warn('[peer] offer failed', e);
    } finally {
      this.makingOffer = false;
    }
  }

  private async apply(data: SignalData): Promise<void> {
    if (this.closed) return;
    const pc = this.pc;
    if ('description' in data) {
      const desc = data.description;
      const collision = desc.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await pc.setRemoteDescription(desc); // the polite side rolls back implicitly
      if (this.closed) return;
      await this.flushCandidates();
      if (desc.type === 'offer') {
        await pc.setLocalDescription();
        const d = pc.localDescription;
        if (d && !this.closed) this.events.signal({ description: { type: d.type, sdp: d.sdp } });
      }
      if (pc.signalingState === 'stable') this.negotiated = true;
      return;
    }
    const cand = data.candidate;
    if (!pc.remoteDescription) {
      this.pending.push(cand);
      return;
    }
    try {
      await pc.addIceCandidate(cand);
    } catch (e) {
      if (!this.ignoreOffer) throw e;
    }
  }

  private async flushCandidates(): Promise<void> {
    const list = this.pending;
    this.pending = [];
    for (const c of list) {
      try {
        await this.pc.addIceCandidate(c);
      } catch (e) {
        if (!this.closed) console.warn('[peer] buffered candidate refused', e);
      }
    }
  }

  private onState(): void {
    if (this.closed) return;
    const pc = this.pc;
    const cs = pc.connectionState ?? pc.iceConnectionState;
    const ice = pc.iceConnectionState;
    if (cs === 'connected' || ((ice === 'connected' || ice === 'completed') && cs !== 'failed')) {
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.graceTimer = null;
      if (!this.isConnected) {
        this.isConnected = true;
        this.events.connected();
      }
      return;
    }
    if (cs === 'failed' || ice === 'failed') {
      this.events.failed('ice-failed');
      return;
    }
    if (cs === 'disconnected' || ice === 'disconnected') {
      if (!this.restarted) {
        this.restarted = true;
        // One side restarts, the other follows the new offer: the offerer.
        if (!this.polite) pc.restartIce();
      }
      if (!this.graceTimer) {
        this.graceTimer = setTimeout(() => {
          this.graceTimer = null;
          const now = pc.connectionState ?? pc.iceConnectionState;
          if (!this.closed && now !== 'connected') this.events.failed('disconnected');
        }, this.opts.disconnectGraceMs ?? 10_000);
      }
    }
  }
}
