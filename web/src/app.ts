// The App: wires the state machine to the world. It feeds events from the
// signaling socket, the peer connection, the camera, the face detector and
// the page into reduce(), carries out the effects reduce() asks for, and
// re-renders. Each collaborator lives in its own module and knows nothing of
// the others.

import { ChatChannel } from './chat';
import { contactKind, CONTACT_WORDS, type ContactKind } from './contact';
import { FaceDetector } from './face/detector';
import { FaceReporter, SafeViewGate } from './face/presence';
import { NudityClassifier } from './shield/classifier';
import { NudityShield, type NsfwScores } from './shield/decide';
import { LocalMedia, type Facing } from './media';
import type { PlayFrame } from './play/frames';
import { PlaySession } from './play/session';
import { addKudos, clearStats, emptyStats, loadStats, recordChat, saveStats, type Stats } from './play/streaks';
import { createdPeerCount, livePeerCount, PeerSession } from './peer';
import { hasTurn, iceServersForPair, REPORT_REASONS, type IceServer, type Mode, type ReportReason, type ServerMessage } from './protocol';
import { loadSettings, RULES_VERSION, saveSettings, type Settings } from './settings';
import { SignalingSocket, signalingUrl } from './signaling';
import { mark } from './timing';
import { initialState, reduce, type Effect, type Event, type MediaError, type State, type TimerName } from './state';
import { ChatLog } from './ui/chatlog';
import { ChipInput } from './ui/chips';
import { byId, setText } from './ui/dom';
import { statusText } from './ui/status';
import { gameStatus, PlayView } from './ui/play';
import { StatsView } from './ui/stats';
import { View, type FaceIndicator } from './ui/view';

const TICK_MS = 250;
/**
 * The face detector and the nudity shield load their models in workers,
 * which takes a core for a second or two. Loading them while a call is set
 * up slows it (docs/client.md, "The first remote frame"), so they load this
 * long after the camera is on when nobody has been met yet, or else just
 * after the stranger's first frame (or this long after connecting without one).
 */
const MODEL_BOOT_DELAY_MS = 1_000;

export class App {
  private st: State;
  private readonly settings: Settings;
  private readonly view = new View();
  private readonly socket: SignalingSocket;
  private readonly media = new LocalMedia();
  private readonly detector: FaceDetector;
  private readonly reporter = new FaceReporter();
  private readonly safeView: SafeViewGate;
  private readonly shield: NudityShield;
  private readonly classifier: NudityClassifier;
  private readonly chatLog = new ChatLog(byId<HTMLElement>('chat-log'));
  private readonly chips: ChipInput;
  private peer: PeerSession | null = null;
  private chat: ChatChannel | null = null;
  private chatOpen = false;
  /** The person chose to send contact details to this stranger: do not ask again. */
  private contactOk = false;
  /** The message held while the contact warning asks. */
  private contactPending: string | null = null;
  private play: PlaySession | null = null;
  private readonly playView: PlayView;
  private readonly statsView = new StatsView();
  private stats: Stats = loadStats();
  /** When the current pair connected (for the on-device chat record). */
  private chatStartedAt: number | null = null;
  private faceState: FaceIndicator = 'off';
  private detectorReady = false;
  private detectorUnavailable = false;
  private revealed = false;
  private canFlip = false;
  private welcomeIce: IceServer[] = [];
  private mediaToken = 0;
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  private lastBlurred = true;
  private socketStarted = false;
  private modelsBooted = false;
  private modelTimer: ReturnType<typeof setTimeout> | null = null;
  readonly cspViolations: string[] = [];

  constructor() {
    this.settings = loadSettings();
    this.st = initialState(this.settings.gateAccepted >= RULES_VERSION, {
      mode: this.settings.mode,
      interests: this.settings.interests,
      relayOnly: this.settings.hideIp,
      fallback: this.settings.fallback,
    });
    this.safeView = new SafeViewGate(this.settings.safeView);
    this.shield = new NudityShield(this.settings.shield);
    this.classifier = new NudityClassifier({
      result: (scores) => this.onShieldSample(scores),
      status: () => this.render(),
    });
    this.socket = new SignalingSocket(
      {
        welcome: (msg, resumed) => this.onWelcome(msg, resumed),
        message: (msg) => this.onServer(msg),
        down: () => this.dispatch({ type: 'socket-down' }),
      },
      { url: signalingUrl(location) },
    );
    this.detector = new FaceDetector({
      status: (s) => {
        this.detectorReady = s.state === 'ready';
        this.detectorUnavailable = s.state === 'unavailable';
        this.faceState = s.state === 'loading' ? 'loading' : s.state === 'unavailable' ? 'unavailable' : this.reporter.isPresent ? 'yes' : 'no';
        if (s.state === 'ready') console.info(`[face] ${s.backend} backend in the ${s.where === 'worker' ? 'worker' : 'page'}, ready in ${Math.round(s.loadMs)} ms`);
        this.render();
      },
      result: (source, found) => this.onFace(source, found),
    });
    this.chips = new ChipInput(
      byId<HTMLUListElement>('chip-list'),
      byId<HTMLInputElement>('interest-input'),
      byId('interest-help'),
      (values) => {
        this.settings.interests = values;
        saveSettings(this.settings);
        this.dispatch({ type: 'settings', search: { interests: values } });
      },
    );
    this.chips.set(this.settings.interests);
    this.playView = new PlayView({
      deal: () => this.deal(),
      start: (kind) => this.playSend(this.play?.start(kind) ?? null),
      move: (cell) => this.playSend(this.play?.move(cell) ?? null),
      vote: (v) => this.playSend(this.play?.vote(v) ?? null),
      quit: () => this.playSend(this.play?.quit() ?? null),
      kudos: () => this.giveKudos(),
    });
  }

  boot(): void {
    this.bindUi();
    this.render();
    if (this.st.phase !== 'gate') this.startSocket();
    else byId<HTMLInputElement>('gate-check').focus();
    setInterval(() => this.tick(), TICK_MS);
    this.exposeTestHook();
  }

  // ---- state machine ----------------------------------------------------

  private dispatch(ev: Event): void {
    const { state, effects } = reduce(this.st, ev);
    const prev = this.st;
    this.st = state;
    for (const e of effects) this.run(e);
    if (prev.phase !== state.phase || prev.pair?.id !== state.pair?.id) this.onPhaseChange(prev, state);
    this.render();
  }

  private run(e: Effect): void {
    switch (e.type) {
      case 'send':
        if (e.msg.type === 'join' || e.msg.type === 'next') mark('join');
        this.socket.send(e.msg);
        break;
      case 'acquire-media':
        void this.acquireMedia();
        break;
      case 'release-media':
        this.releaseMedia();
        break;
      case 'open-peer':
        this.openPeer(e.pair.id, e.pair.role, e.iceServers, e.relayOnly, e.mode);
        break;
      case 'close-peer':
        this.closePeer();
        break;
      case 'start-timer': {
        this.clearTimer(e.name);
        this.timers.set(
          e.name,
          setTimeout(() => {
            this.timers.delete(e.name);
            this.dispatch({ type: 'timer', name: e.name });
          }, e.ms),
        );
        break;
      }
      case 'clear-timer':
        this.clearTimer(e.name);
        break;
      case 'remember-gate':
        this.settings.gateAccepted = RULES_VERSION;
        saveSettings(this.settings);
        break;
    }
  }

  private clearTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private onPhaseChange(prev: State, next: State): void {
    if (next.phase === 'connecting' && next.pair && next.pair.id !== prev.pair?.id) {
      this.chatLog.clear();
      this.chatLog.add('system', next.pair.rematch ? 'You are back with the same stranger. Say hi again!' : 'You are now talking to a stranger. Say hi!');
      if (next.pair.common.length) this.chatLog.add('system', `You both like: ${next.pair.common.join(', ')}`);
    }
    if (next.phase === 'connected' && prev.phase !== 'connected') {
      this.chatStartedAt ??= Date.now();
      this.bootModelsSoon();
    }
    if (next.phase === 'waiting-face') this.bootModels();
    if (next.phase === 'ended') this.chatLog.add('system', 'Stranger left.');
    if (next.phase === 'idle' && prev.phase !== 'gate' && prev.phase !== 'starting') this.chatLog.add('system', 'You stopped.');
    if (prev.phase === 'gate' && next.phase === 'idle') {
      this.startSocket();
      queueMicrotask(() => this.view.startBtn.focus());
    }
    const active = next.phase !== 'idle' && next.phase !== 'gate';
    document.title = active ? `${statusText(next).text} - Serendip` : 'Serendip - talk to a stranger';
    if ((prev.phase === 'connecting' || prev.phase === 'connected') && next.phase !== 'connecting' && next.phase !== 'connected') {
      this.closeDialog('report-dialog');
      this.closeDialog('contact-dialog');
    }
  }

  private startSocket(): void {
    if (this.socketStarted) return;
    this.socketStarted = true;
    this.socket.start();
  }

  // ---- server -------------------------------------------------------------

  private onWelcome(msg: Extract<ServerMessage, { type: 'welcome' }>, resumed: boolean): void {
    mark('socket');
    this.welcomeIce = msg.iceServers;
    if (!resumed) this.reporter.forget();
    // Our face verdict must reach a fresh session before any join.
    this.pushFace();
    this.dispatch({ type: 'welcome', resumed, online: msg.online, turnAvailable: hasTurn(msg.iceServers) });
  }

  private onServer(msg: ServerMessage): void {
    switch (msg.type) {
      case 'online':
        this.dispatch({ type: 'online', count: msg.count });
        break;
      case 'queued':
        mark('queued');
        this.dispatch({ type: 'queued' });
        break;
      case 'matched':
        mark('matched');
        this.dispatch({
          type: 'matched',
          role: msg.role,
          common: msg.common,
          iceServers: iceServersForPair(msg.iceServers, this.welcomeIce),
          rematch: msg.rematch,
        });
        break;
      case 'rematch_wanted':
        this.dispatch({ type: 'rematch-wanted' });
        break;
      case 'signal':
        if ('description' in msg.data) mark(msg.data.description.type === 'offer' ? 'offer-received' : 'answer-received');
        void this.peer?.handleSignal(msg.data);
        break;
      case 'peer_left':
        this.dispatch({ type: 'peer-left', reason: msg.reason });
        break;
      case 'error':
        if (msg.code !== 'not_paired') console.info(`[signaling] ${msg.code}${msg.ref ? ` (${msg.ref})` : ''}: ${msg.message}`);
        this.dispatch({ type: 'server-error', code: msg.code, ref: msg.ref });
        break;
      case 'banned':
        this.socket.pauseUntil(msg.until * 1000);
        this.dispatch({ type: 'banned', until: msg.until });
        break;
      case 'welcome':
        break;
    }
  }

  // ---- media ----------------------------------------------------------------

  private async acquireMedia(): Promise<void> {
    const token = ++this.mediaToken;
    try {
      await this.media.acquire({ cameraId: this.settings.cameraId || undefined, micId: this.settings.micId || undefined });
    } catch (e) {
      if (token !== this.mediaToken) return;
      this.dispatch({ type: 'media-failed', error: typeof e === 'string' ? (e as MediaError) : 'other' });
      return;
    }
    if (token !== this.mediaToken || this.st.phase !== 'starting') {
      if (token === this.mediaToken) this.media.release();
      return;
    }
    mark('camera');
    this.attachLocal();
    // A server that wants a face before matching needs the detector now.
    if (this.st.faceRequired) this.bootModels();
    else this.bootModelsSoon();
    this.watchLocal();
    void this.refreshDevices();
    this.dispatch({ type: 'media-ready' });
  }

  private releaseMedia(): void {
    this.mediaToken++;
    this.media.release();
    this.view.localVideo.srcObject = null;
    this.detector.watch('local', null);
    this.reporter.cameraOff();
    this.faceState = this.detectorReady ? 'no' : 'off';
    this.pushFace();
  }

  private attachLocal(): void {
    const v = this.view.localVideo;
    v.srcObject = this.media.stream;
    void v.play().catch(() => undefined);
  }

  private watchLocal(): void {
    const on = this.media.videoTrack !== null && this.media.camEnabled;
    this.detector.watch('local', on ? this.view.localVideo : null);
    if (!on) {
      this.reporter.cameraOff();
      this.pushFace();
    }
  }

  private async refreshDevices(): Promise<void> {
    const { cameras, mics } = await this.media.listDevices();
    this.canFlip = cameras.length > 1;
    fillSelect(byId<HTMLSelectElement>('camera-select'), cameras, 'Default camera', this.settings.cameraId);
    fillSelect(byId<HTMLSelectElement>('mic-select'), mics, 'Default microphone', this.settings.micId);
    setText(byId('devices-help'), cameras.length || mics.length ? 'Changes apply at once, even during a call.' : 'Device names appear after you allow camera access.');
    this.render();
  }

  private async switchCamera(choice: { cameraId?: string; facing?: Facing }): Promise<void> {
    try {
      const track = await this.media.switchCamera(choice);
      if (!track) return;
      await this.peer?.replaceTrack('video', track);
      this.attachLocal();
      this.watchLocal();
      this.render();
    } catch (e) {
      console.warn('[media] camera switch failed', e);
    }
  }

  private async switchMic(micId: string): Promise<void> {
    try {
      const track = await this.media.switchMic(micId);
      if (track) await this.peer?.replaceTrack('audio', track);
    } catch (e) {
      console.warn('[media] microphone switch failed', e);
    }
  }

  // ---- peer -------------------------------------------------------------------

  private openPeer(pairId: number, role: 'offerer' | 'answerer', iceServers: IceServer[], relayOnly: boolean, mode: Mode): void {
    this.closePeer();
    this.safeView.reset();
    this.resetShield();
    this.revealed = false;
    this.play = new PlaySession(role);
    this.contactOk = false;
    const tracks = mode === 'video' ? this.media.tracks : [];
    this.peer = new PeerSession(
      { role, iceServers, relayOnly, tracks, stream: mode === 'video' ? this.media.stream : null },
      {
        signal: (data) => {
          if ('description' in data) mark(data.description.type === 'offer' ? 'offer-sent' : 'answer-sent');
          this.socket.send({ type: 'signal', data });
        },
        connected: () => {
          mark('ice-connected');
          this.dispatch({ type: 'peer-connected', pairId });
        },
        failed: () => this.dispatch({ type: 'peer-failed', pairId }),
        remoteStream: (stream) => {
          const v = this.view.remoteVideo;
          if (v.srcObject !== stream) {
            v.srcObject = stream;
            onFirstFrame(v, () => {
              mark('first-frame');
              this.bootModels();
            });
          }
          void v.play().catch(() => undefined);
          this.watchRemote();
          this.watchShield();
        },
        channel: (dc) => {
          this.chat = new ChatChannel(dc, {
            open: () => {
              this.chatOpen = true;
              this.render();
            },
            message: (text) => this.chatLog.add('stranger', text),
            typing: (on) => setText(byId('typing'), on ? 'Stranger is typing...' : ''),
            play: (f) => this.onPlayFrame(f),
          });
        },
      },
    );
  }

  private closePeer(): void {
    this.recordChat();
    this.play = null;
    this.playView.say('');
    this.chat?.close();
    this.chat = null;
    this.chatOpen = false;
    this.peer?.close();
    this.peer = null;
    this.socket.clearHeld();
    const v = this.view.remoteVideo;
    v.pause();
    v.srcObject = null;
    this.detector.watch('remote', null);
    this.resetShield();
    setText(byId('typing'), '');
  }

  private watchRemote(): void {
    const on = this.peer !== null && this.st.search.mode === 'video' && this.safeView.isEnabled && !this.revealed && this.view.remoteVideo.srcObject !== null;
    this.detector.watch('remote', on ? this.view.remoteVideo : null);
  }

  /** Loads both models (once). */
  private bootModels(): void {
    if (this.modelTimer) clearTimeout(this.modelTimer);
    this.modelTimer = null;
    if (this.modelsBooted) return;
    this.modelsBooted = true;
    this.detector.start();
    if (this.settings.shield) this.classifier.start();
  }

  /** Loads the models shortly, unless a call is being set up by then (its first frame boots them). */
  private bootModelsSoon(): void {
    if (this.modelsBooted || this.modelTimer) return;
    this.modelTimer = setTimeout(() => {
      this.modelTimer = null;
      if (this.st.phase !== 'connecting') this.bootModels();
    }, MODEL_BOOT_DELAY_MS);
  }

  // ---- nudity shield (on the stranger's video, decided and kept on this page) --

  private watchShield(): void {
    const on = this.peer !== null && this.st.search.mode === 'video' && this.shield.active && this.view.remoteVideo.srcObject !== null;
    this.classifier.watch(on ? this.view.remoteVideo : null);
  }

  private onShieldSample(scores: NsfwScores | null): void {
    if (this.shield.sample(scores, performance.now())) {
      setText(byId('shield-note'), "Possible nudity: the stranger's video is covered. Next, Report or Show anyway.");
      this.render();
    }
  }

  private resetShield(): void {
    this.shield.reset();
    this.classifier.watch(null);
    setText(byId('shield-note'), '');
  }

  private showShielded(): void {
    this.shield.showAnyway();
    setText(byId('shield-note'), '');
    this.watchShield();
    this.render();
  }

  // ---- play (cards, games, kudos over the data channel; stats on this device) --

  private playSend(frames: PlayFrame[] | PlayFrame | null): void {
    if (frames === null || !this.play) return;
    for (const f of Array.isArray(frames) ? frames : [frames]) this.chat?.sendPlay(f);
    if (this.play.slot.game) this.playView.say(gameStatus(this.play));
    this.render();
  }

  private deal(): void {
    if (!this.play || !this.chatOpen) return;
    this.playSend(this.play.deal());
    this.playView.say(`You dealt a question: ${this.play.card ?? ''}`);
  }

  private giveKudos(): void {
    const f = this.chatOpen ? (this.play?.kudos() ?? null) : null;
    if (!f) return;
    this.chat?.sendPlay(f);
    this.chatLog.add('system', 'You told the stranger you enjoyed the chat.');
    this.playView.say('Thanks sent to the stranger.');
    this.render();
  }

  private onPlayFrame(f: PlayFrame): void {
    const p = this.play;
    if (!p) return;
    const r = p.receive(f);
    for (const out of r.send) this.chat?.sendPlay(out);
    if (r.change === 'card') this.playView.say(`The stranger dealt a question: ${p.card ?? ''}`);
    else if (r.change === 'game') this.playView.say(gameStatus(p));
    else if (r.change === 'kudos') {
      this.stats = addKudos(this.stats);
      saveStats(this.stats);
      this.chatLog.add('system', 'The stranger enjoyed talking with you.');
      this.playView.say('The stranger enjoyed talking with you.');
    }
    if (r.change) this.render();
  }

  /** Counts the chat that just ended (only its length and day, only here). */
  private recordChat(): void {
    if (this.chatStartedAt === null) return;
    const now = Date.now();
    this.stats = recordChat(this.stats, now, now - this.chatStartedAt);
    this.chatStartedAt = null;
    saveStats(this.stats);
  }

  // ---- face -------------------------------------------------------------------

  private onFace(source: 'local' | 'remote', found: boolean): void {
    const now = performance.now();
    if (source === 'local') {
      this.reporter.detection(found, now);
      this.pushFace();
    } else {
      this.safeView.detection(found, now);
    }
    this.render();
  }

  /** Sends our face verdict when it is due (changed, or the 4 s heartbeat). */
  private pushFace(): void {
    const was = this.st.facePresent;
    if (this.socket.ready) {
      const v = this.reporter.due(performance.now());
      if (v !== null) this.socket.send({ type: 'face', present: v });
    }
    const now = this.reporter.isPresent;
    if (this.detectorReady && this.media.videoTrack && this.media.camEnabled) this.faceState = now ? 'yes' : 'no';
    if (now !== was) this.dispatch({ type: 'face', present: now });
  }

  /** SafeView's blur; with the shield on, it also waits until the shield can watch. */
  private remoteBlurred(): boolean {
    const loading = this.classifier.stats.state === 'off' || this.classifier.stats.state === 'loading';
    return this.safeView.blurred(performance.now()) || (this.safeView.isEnabled && this.shield.isEnabled && loading);
  }

  private tick(): void {
    this.pushFace();
    const blurred = this.remoteBlurred();
    if (blurred !== this.lastBlurred) {
      this.lastBlurred = blurred;
      this.render();
    }
  }

  // ---- rendering ------------------------------------------------------------

  private render(): void {
    this.view.render({
      st: this.st,
      micOn: this.media.micEnabled,
      camOn: this.media.camEnabled,
      hasVideo: this.media.videoTrack !== null,
      mirrored: this.media.mirrored,
      face: this.media.videoTrack ? this.faceState : 'off',
      blurred: this.remoteBlurred(),
      revealed: this.revealed,
      chatOpen: this.chatOpen,
      canFlip: this.canFlip && this.media.videoTrack !== null,
      hideIp: this.settings.hideIp,
      safeView: this.settings.safeView,
      shieldOn: this.settings.shield,
      shielded: this.shield.covered,
      detectorUnavailable: this.detectorUnavailable,
    });
    this.playView.render(this.play, this.chatOpen);
    this.statsView.render(this.stats);
  }

  // ---- page events ------------------------------------------------------------

  private bindUi(): void {
    const v = this.view;

    byId<HTMLFormElement>('gate-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const check = byId<HTMLInputElement>('gate-check');
      const err = byId('gate-error');
      if (!check.checked) {
        err.hidden = false;
        check.setAttribute('aria-invalid', 'true');
        check.focus();
        return;
      }
      err.hidden = true;
      check.removeAttribute('aria-invalid');
      this.dispatch({ type: 'gate-accepted' });
    });

    for (const r of v.modeInputs) {
      r.addEventListener('change', () => {
        if (!r.checked) return;
        const mode = r.value === 'text' ? 'text' : 'video';
        this.settings.mode = mode;
        saveSettings(this.settings);
        this.dispatch({ type: 'settings', search: { mode } });
      });
    }

    v.startBtn.addEventListener('click', () => this.start(this.st.search.mode));
    byId('retry-media-btn').addEventListener('click', () => this.start('video'));
    byId('text-only-btn').addEventListener('click', () => {
      this.settings.mode = 'text';
      saveSettings(this.settings);
      this.start('text');
    });
    v.nextBtn.addEventListener('click', () => this.next());
    v.stopBtn.addEventListener('click', () => this.dispatch({ type: 'stop' }));
    v.reportBtn.addEventListener('click', () => this.openReport());

    v.micBtn.addEventListener('click', () => {
      this.media.setMic(!this.media.micEnabled);
      this.render();
    });
    v.camBtn.addEventListener('click', () => {
      this.media.setCam(!this.media.camEnabled);
      this.watchLocal();
      this.render();
    });
    v.flipBtn.addEventListener('click', () => {
      this.settings.cameraId = '';
      saveSettings(this.settings);
      void this.switchCamera({ facing: this.media.facing === 'user' ? 'environment' : 'user' });
    });
    byId('shield-next').addEventListener('click', () => this.next());
    byId('shield-report').addEventListener('click', () => this.openReport('nudity'));
    byId('shield-show').addEventListener('click', () => this.showShielded());
    byId('reveal-btn').addEventListener('click', () => {
      this.revealed = true;
      this.watchRemote();
      this.render();
    });

    // Chat.
    const input = v.chatInput;
    byId<HTMLFormElement>('chat-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!this.chat?.isOpen) return;
      // Contact details go to a stranger only after one explicit "Send" (per stranger).
      const kind = this.contactOk ? null : contactKind(input.value);
      if (kind) this.askContact(input.value, kind);
      else this.sendChat(input.value);
    });
    input.addEventListener('input', () => this.chat?.setTyping(input.value.trim() !== ''));

    v.goBackBtn.addEventListener('click', () => this.dispatch({ type: 'go-back' }));
    byId('stats-clear').addEventListener('click', () => {
      clearStats();
      this.stats = emptyStats();
      setText(byId('stats-status'), 'Your stats on this device were cleared.');
      this.render();
    });

    // Q deals a question and B goes back: plain letters when not typing, Alt+letter anywhere.
    document.addEventListener('keydown', (ev) => {
      if (ev.isComposing || ev.repeat || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      if (document.querySelector('dialog[open]')) return;
      const t = ev.target as HTMLElement | null;
      const typing = t !== null && (t.isContentEditable || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
      if (typing ? !ev.altKey : ev.altKey) return;
      if (ev.code === 'KeyQ' && !this.view.app.hidden && this.play && this.chatOpen) {
        ev.preventDefault();
        this.deal();
      } else if (ev.code === 'KeyB' && !v.goBackBtn.hidden) {
        ev.preventDefault();
        this.dispatch({ type: 'go-back' });
      }
    });

    // Esc is Next, unless a dialog is open (Esc closes it) or text is being composed.
    document.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape' || ev.isComposing || ev.repeat) return;
      if (document.querySelector('dialog[open]')) return;
      if (this.st.phase === 'connecting' || this.st.phase === 'connected' || this.st.phase === 'ended') {
        ev.preventDefault();
        this.next();
      }
    });

    this.bindReportDialog();
    this.bindSettingsDialog();
    this.bindContactDialog();

    window.addEventListener('online', () => this.socket.kick());
    window.addEventListener('pagehide', () => {
      // Tell the server now, so the stranger is not left waiting for a resume.
      if (this.st.serverPaired || this.st.phase === 'searching') this.socket.send({ type: 'leave' });
      this.closePeer();
    });
    document.addEventListener('securitypolicyviolation', (ev) => {
      this.cspViolations.push(`${ev.violatedDirective} ${ev.blockedURI}`);
    });
  }

  private sendChat(text: string): void {
    const sent = this.chat?.send(text) ?? null;
    if (sent !== null) {
      this.chatLog.add('me', sent);
      this.view.chatInput.value = '';
    }
  }

  private askContact(text: string, kind: ContactKind): void {
    this.contactPending = text;
    setText(byId('contact-text'), `This message looks like it contains ${CONTACT_WORDS[kind]}. Once sent, it cannot be taken back.`);
    setText(byId('contact-preview'), text);
    byId<HTMLDialogElement>('contact-dialog').showModal();
    byId('contact-edit').focus();
  }

  private bindContactDialog(): void {
    const dlg = byId<HTMLDialogElement>('contact-dialog');
    byId('contact-send').addEventListener('click', () => {
      const text = this.contactPending;
      this.contactPending = null;
      dlg.close();
      if (text !== null && this.chat?.isOpen) {
        this.contactOk = true;
        this.sendChat(text);
      }
    });
    byId('contact-edit').addEventListener('click', () => dlg.close());
    // Edit, Esc, or the pair ending: the text stays in the box, nothing is sent.
    dlg.addEventListener('close', () => {
      this.contactPending = null;
      if (!this.view.chatInput.disabled) this.view.chatInput.focus();
    });
  }

  private start(mode: Mode): void {
    mark('start');
    this.startSocket();
    this.dispatch({ type: 'settings', search: { mode, interests: this.chips.value, relayOnly: this.settings.hideIp, fallback: this.st.search.fallback } });
    this.dispatch({ type: 'start', mode });
  }

  private next(): void {
    if (this.view.nextBtn.getAttribute('aria-disabled') === 'true') return;
    this.dispatch({ type: 'next' });
  }

  private openReport(reason?: ReportReason): void {
    if (this.st.phase !== 'connecting' && this.st.phase !== 'connected') return;
    const dlg = byId<HTMLDialogElement>('report-dialog');
    const form = byId<HTMLFormElement>('report-form');
    form.reset();
    byId('report-error').hidden = true;
    const pre = reason ? form.querySelector<HTMLInputElement>(`input[name="reason"][value="${reason}"]`) : null;
    if (pre) pre.checked = true;
    dlg.showModal();
    (pre ?? form.querySelector<HTMLInputElement>('input[name="reason"]'))?.focus();
  }

  private bindReportDialog(): void {
    const dlg = byId<HTMLDialogElement>('report-dialog');
    const form = byId<HTMLFormElement>('report-form');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const reason = new FormData(form).get('reason');
      if (typeof reason !== 'string' || !REPORT_REASONS.includes(reason as ReportReason)) {
        byId('report-error').hidden = false;
        form.querySelector<HTMLInputElement>('input[name="reason"]')?.focus();
        return;
      }
      dlg.close();
      this.dispatch({ type: 'report', reason: reason as ReportReason });
      this.view.nextBtn.focus();
    });
    byId('report-cancel').addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => {
      if (!this.view.nextBtn.hidden) this.view.nextBtn.focus();
    });
  }

  private bindSettingsDialog(): void {
    const dlg = byId<HTMLDialogElement>('settings-dialog');
    const safe = byId<HTMLInputElement>('safeview-toggle');
    const shield = byId<HTMLInputElement>('shield-toggle');
    const hide = byId<HTMLInputElement>('hideip-toggle');
    const fallback = byId<HTMLInputElement>('fallback-toggle');
    const cam = byId<HTMLSelectElement>('camera-select');
    const mic = byId<HTMLSelectElement>('mic-select');
    const settingsBtn = byId('settings-btn');
    settingsBtn.addEventListener('click', () => {
      safe.checked = this.settings.safeView;
      shield.checked = this.settings.shield;
      fallback.checked = this.st.search.fallback;
      this.render();
      dlg.showModal();
    });
    byId('settings-close').addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => settingsBtn.focus());
    // A click on the backdrop (outside the card) closes it too.
    dlg.addEventListener('click', (ev) => {
      if (ev.target === dlg) dlg.close();
    });
    safe.addEventListener('change', () => {
      this.settings.safeView = safe.checked;
      this.safeView.setEnabled(safe.checked);
      saveSettings(this.settings);
      this.watchRemote();
      this.render();
    });
    shield.addEventListener('change', () => {
      this.settings.shield = shield.checked;
      this.shield.setEnabled(shield.checked);
      saveSettings(this.settings);
      if (shield.checked && this.modelsBooted) this.classifier.start();
      if (!shield.checked) setText(byId('shield-note'), '');
      this.watchShield();
      this.render();
    });
    hide.addEventListener('change', () => {
      this.settings.hideIp = hide.checked;
      saveSettings(this.settings);
      this.dispatch({ type: 'settings', search: { relayOnly: hide.checked } });
    });
    fallback.addEventListener('change', () => {
      this.settings.fallback = fallback.checked;
      saveSettings(this.settings);
      this.dispatch({ type: 'settings', search: { fallback: fallback.checked } });
    });
    cam.addEventListener('change', () => {
      this.settings.cameraId = cam.value;
      saveSettings(this.settings);
      if (this.media.stream) void this.switchCamera({ cameraId: cam.value || undefined });
    });
    mic.addEventListener('change', () => {
      this.settings.micId = mic.value;
      saveSettings(this.settings);
      if (this.media.stream && mic.value) void this.switchMic(mic.value);
    });
  }

  private closeDialog(id: string): void {
    const d = document.getElementById(id) as HTMLDialogElement | null;
    if (d?.open) d.close();
  }

  // ---- test hook --------------------------------------------------------------

  /** A small read-mostly window for the browser tests. Holds nothing secret. */
  private exposeTestHook(): void {
    const app = this;
    (window as unknown as { __serendip: unknown }).__serendip = {
      get livePeers() {
        return livePeerCount();
      },
      get createdPeers() {
        return createdPeerCount();
      },
      get phase() {
        return app.st.phase;
      },
      get state() {
        return { ...app.st };
      },
      get session() {
        return app.socket.sessionId;
      },
      get facePresent() {
        return app.reporter.isPresent;
      },
      get remoteBlurred() {
        return app.view.remoteVideo.classList.contains('blurred');
      },
      get shield() {
        return { ...app.classifier.stats, recentMs: [...app.classifier.stats.recentMs], covered: app.shield.covered, score: app.shield.score, shownAnyway: app.shield.shownAnyway, enabled: app.shield.isEnabled };
      },
      /** Replaces the model's nudity score from the next sample on (null: the model's own again). */
      shieldForce: (score: number | null) => {
        app.classifier.forced = typeof score === 'number' && Number.isFinite(score) ? score : null;
      },
      get face() {
        return { ...app.detector.stats, detections: { ...app.detector.stats.detections } };
      },
      get liveLocalTracks() {
        return app.media.tracks.filter((t) => t.readyState === 'live').length;
      },
      get cspViolations() {
        return [...app.cspViolations];
      },
      get play() {
        const p = app.play;
        if (!p) return null;
        const g = p.slot.game;
        return { card: p.card, cardIndex: p.table.index, game: g ? { kind: g.kind, id: g.id, quitBy: p.slot.quitBy } : null, kudosSent: p.kudosSent, kudosReceived: p.kudosReceived };
      },
      get stats() {
        return { ...app.stats };
      },
      sendRaw: (text: string) => app.chat?.sendRaw(text) ?? false,
      inboundVideo: () => app.peer?.getInboundVideoStats() ?? Promise.resolve(null),
      dropSocket: () => app.socket.simulateDrop(),
    };
  }
}

/** Calls `fn` once, when the video shows its first frame. */
function onFirstFrame(v: HTMLVideoElement, fn: () => void): void {
  const rvfc = (v as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number }).requestVideoFrameCallback;
  if (rvfc) rvfc.call(v, fn);
  else v.addEventListener('loadeddata', fn, { once: true });
}

function fillSelect(sel: HTMLSelectElement, devices: MediaDeviceInfo[], fallback: string, chosen: string): void {
  const opts = [new Option(fallback, '')];
  devices.forEach((d, i) => opts.push(new Option(d.label || `${fallback.replace('Default ', '')} ${i + 1}`, d.deviceId)));
  sel.replaceChildren(...opts);
  sel.value = devices.some((d) => d.deviceId === chosen) ? chosen : '';
}
