// Renders the app's state into the static markup of index.html: which parts
// show, what the status says, which buttons are live. It reads no state of
// its own; the App calls render() after every change.

import type { State } from '../state';
import { byId, setText, show } from './dom';
import { MEDIA_ERROR_TEXT, onlineText, statusText } from './status';

export type FaceIndicator = 'off' | 'loading' | 'yes' | 'no' | 'unavailable';

export interface ViewModel {
  st: State;
  micOn: boolean;
  camOn: boolean;
  hasVideo: boolean;
  mirrored: boolean;
  face: FaceIndicator;
  blurred: boolean;
  revealed: boolean;
  chatOpen: boolean;
  canFlip: boolean;
  hideIp: boolean;
  safeView: boolean;
  /** The nudity shield setting, and whether it covers the stranger now. */
  shieldOn: boolean;
  shielded: boolean;
  /** Whether this browser can run the face detector at all. */
  detectorUnavailable: boolean;
}

const FACE_TEXT: Record<FaceIndicator, string> = {
  off: 'Face check off',
  loading: 'Starting face check...',
  yes: 'Face detected',
  no: 'No face detected',
  unavailable: 'Face check unavailable',
};

export class View {
  readonly app = byId('app');
  readonly gate = byId('gate');
  readonly stage = byId('stage');
  readonly hero = byId('hero');
  readonly status = byId('status');
  readonly statusSub = byId('status-sub');
  readonly onlinePill = byId('online-pill');
  readonly onlineCount = byId('online-count');
  readonly connPill = byId('conn-pill');
  readonly remoteVideo = byId<HTMLVideoElement>('remote-video');
  readonly localVideo = byId<HTMLVideoElement>('local-video');
  readonly self = byId('self');
  readonly selfOff = byId('self-off');
  readonly faceBadge = byId('face-badge');
  readonly faceBadgeText = byId('face-badge-text');
  readonly safeview = byId('safeview');
  readonly safeviewText = byId('safeview-text');
  readonly shield = byId('shield');
  readonly common = byId('common');
  readonly startBtn = byId<HTMLButtonElement>('start-btn');
  readonly nextBtn = byId<HTMLButtonElement>('next-btn');
  readonly stopBtn = byId<HTMLButtonElement>('stop-btn');
  readonly reportBtn = byId<HTMLButtonElement>('report-btn');
  readonly mediaControls = byId('media-controls');
  readonly micBtn = byId<HTMLButtonElement>('mic-btn');
  readonly camBtn = byId<HTMLButtonElement>('cam-btn');
  readonly flipBtn = byId<HTMLButtonElement>('flip-btn');
  readonly mediaAlert = byId('media-alert');
  readonly mediaAlertText = byId('media-alert-text');
  readonly privacyLine = byId('privacy-line');
  readonly chatInput = byId<HTMLInputElement>('chat-input');
  readonly sendBtn = byId<HTMLButtonElement>('send-btn');
  readonly typing = byId('typing');
  readonly modeInputs = Array.from(document.querySelectorAll<HTMLInputElement>('input[name="mode"]'));
  readonly hideIpToggle = byId<HTMLInputElement>('hideip-toggle');
  readonly hideIpHelp = byId('hideip-help');
  readonly goBack = byId('goback');
  readonly goBackText = byId('goback-text');
  readonly goBackBtn = byId<HTMLButtonElement>('goback-btn');
  readonly rematchBadge = byId('rematch-badge');

  private lastPhase = '';

  render(m: ViewModel): void {
    const st = m.st;
    const phase = st.phase;
    const active = phase !== 'gate' && phase !== 'idle' && phase !== 'starting' && phase !== 'banned';
    const paired = phase === 'connecting' || phase === 'connected';

    show(this.gate, phase === 'gate');
    show(this.app, phase !== 'gate');
    this.app.dataset.mode = st.search.mode;
    this.app.dataset.phase = phase;
    this.stage.dataset.phase = phase;
    this.stage.dataset.mode = st.search.mode;

    // Status.
    const s = statusText(st);
    setText(this.status, s.text);
    setText(this.statusSub, s.sub);
    this.stage.dataset.notice = st.notice ?? '';

    // Header.
    show(this.onlinePill, st.online !== null);
    setText(this.onlineCount, st.online === null ? '' : new Intl.NumberFormat('en').format(st.online));
    this.onlinePill.title = onlineText(st.online);
    // Always in the tree (a live region), empty and invisible when connected.
    setText(this.connPill, st.conn === 'reconnecting' ? 'Reconnecting...' : '');

    // Idle hero.
    show(this.hero, phase === 'idle');
    this.startBtn.disabled = phase === 'starting';
    show(this.mediaAlert, phase === 'idle' && st.mediaError !== null);
    if (st.mediaError) setText(this.mediaAlertText, MEDIA_ERROR_TEXT[st.mediaError]);
    for (const r of this.modeInputs) r.checked = r.value === st.search.mode;
    setText(this.privacyLine, this.privacyText(m));

    // Self view.
    const showSelf = m.hasVideo && st.search.mode === 'video' && phase !== 'idle' && phase !== 'gate';
    show(this.self, showSelf);
    this.localVideo.classList.toggle('mirrored', m.mirrored);
    show(this.selfOff, showSelf && !m.camOn);
    this.faceBadge.dataset.state = m.face;
    setText(this.faceBadgeText, FACE_TEXT[m.face]);

    // Stranger view.
    const blur = paired && st.search.mode === 'video' && m.blurred && !m.revealed;
    this.remoteVideo.classList.toggle('blurred', blur);
    // The nudity shield's cover wins over SafeView's note.
    const shielded = paired && st.search.mode === 'video' && m.shielded;
    this.remoteVideo.classList.toggle('shielded', shielded);
    const shieldFocus = this.shield.contains(document.activeElement);
    show(this.shield, shielded);
    if (shieldFocus && !shielded) this.nextBtn.focus();
    show(this.safeview, blur && phase === 'connected' && !shielded);
    setText(
      this.safeviewText,
      m.detectorUnavailable
        ? 'Face checks cannot run in this browser, so the video stays blurred. Show it only if you want to.'
        : "The stranger's video stays blurred until a face is seen.",
    );
    show(this.common, paired && st.pair !== null && st.pair.common.length > 0);
    if (st.pair && st.pair.common.length) setText(this.common, `You both like: ${st.pair.common.join(', ')}`);

    show(this.rematchBadge, paired && st.pair !== null && st.pair.rematch);
    this.renderGoBack(st);

    // Controls.
    const controls = active || phase === 'starting';
    show(this.stopBtn, controls);
    show(this.nextBtn, controls);
    show(this.reportBtn, controls);
    const canNext = paired || phase === 'ended';
    this.nextBtn.setAttribute('aria-disabled', String(!canNext));
    this.reportBtn.setAttribute('aria-disabled', String(!paired));
    show(this.mediaControls, m.hasVideo && (active || phase === 'starting'));
    this.micBtn.setAttribute('aria-pressed', String(!m.micOn));
    this.camBtn.setAttribute('aria-pressed', String(!m.camOn));
    show(this.flipBtn, m.canFlip);

    // Chat.
    this.chatInput.disabled = !m.chatOpen;
    this.sendBtn.disabled = !m.chatOpen;
    this.chatInput.placeholder = m.chatOpen ? 'Say hi...' : 'Chat opens on connect';

    // Hide my IP availability.
    this.hideIpToggle.disabled = !st.turnAvailable;
    this.hideIpToggle.checked = m.hideIp && st.turnAvailable;
    setText(
      this.hideIpHelp,
      st.turnAvailable
        ? 'Route the call through the relay so strangers never see your address. Takes effect from the next stranger.'
        : 'Unavailable: this server has no relay (TURN) configured, so calls connect directly.',
    );

    // Keep focus on the live control when the focused one disappears.
    if (phase !== this.lastPhase) {
      const f = document.activeElement;
      const lost = !f || f === document.body || (f instanceof HTMLElement && f.closest('[hidden]') !== null);
      if (lost) {
        if (phase === 'idle') this.startBtn.focus();
        else if (active || phase === 'starting') this.nextBtn.focus();
      }
      this.lastPhase = phase;
    }
  }

  /** The go-back bar: its live text, and the button while going back is possible. */
  private renderGoBack(st: State): void {
    const gb = st.goBack;
    let text = '';
    let offer = false;
    let state = '';
    if (gb && gb.asked) {
      state = 'asked';
      text = gb.wanted ? 'Going back to the last stranger...' : 'You asked to go back. If the last stranger asks too, you will be back together.';
    } else if (gb && gb.wanted) {
      state = 'wanted';
      offer = true;
      text = 'The last stranger would like to go back. Go back?';
    } else if (gb) {
      state = 'open';
      offer = true;
      text = 'Want the last stranger back? If they agree too, you will be reconnected.';
    } else if (st.goBackRefused) {
      state = 'refused';
      text = 'Going back is not possible this time. No worries, there are more people to meet.';
    }
    this.goBack.dataset.state = state;
    setText(this.goBackText, text);
    const hadFocus = document.activeElement === this.goBackBtn;
    show(this.goBackBtn, offer);
    if (hadFocus && !offer) this.nextBtn.focus();
  }

  private privacyText(m: ViewModel): string {
    const ip = !m.st.turnAvailable ? 'Hide my IP is unavailable on this server' : m.hideIp ? 'Hide my IP is on' : 'Hide my IP is off';
    return `SafeView is ${m.safeView ? 'on' : 'off'} · Nudity shield is ${m.shieldOn ? 'on' : 'off'} · ${ip}`;
  }
}
