// What the status line says for each state. Pure, so it is unit-tested.

import type { State } from '../state';

export interface StatusText {
  /** The live status (announced to screen readers). */
  text: string;
  /** A quieter second line. */
  sub: string;
}

export const STATUS = {
  ready: 'Ready when you are',
  starting: 'Waiting for camera and microphone...',
  face: 'Show your face to start',
  searching: 'Looking for someone...',
  connecting: 'Connecting...',
  connected: 'Connected',
  left: 'Stranger left',
  failed: 'Connection failed - trying someone else',
  banned: 'You are temporarily banned',
} as const;

const fmt = new Intl.NumberFormat('en');

export function onlineText(n: number | null): string {
  if (n === null) return '';
  return n === 1 ? 'Only you are online right now' : `${fmt.format(n)} people online`;
}

function clock(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function statusText(st: State): StatusText {
  const online = onlineText(st.online);
  switch (st.phase) {
    case 'gate':
    case 'idle':
      return { text: STATUS.ready, sub: '' };
    case 'starting':
      return { text: STATUS.starting, sub: 'Your browser will ask for permission.' };
    case 'waiting-face':
      return {
        text: STATUS.face,
        sub:
          st.search.mode === 'text'
            ? 'This server only connects people who show their face on camera. Switch to video to continue.'
            : 'This server only connects people who show their face. Only a yes or no leaves this browser.',
      };
    case 'searching': {
      const likes = st.search.interests.length ? `Matching on ${st.search.interests.join(', ')}. ` : '';
      const sub = (likes + online).trim();
      switch (st.notice) {
        case 'failed':
          return { text: STATUS.failed, sub };
        case 'reported':
          return { text: `Thanks for reporting. ${STATUS.searching}`, sub };
        case 'connection-lost':
          return { text: `Connection lost. ${STATUS.searching}`, sub };
        case 'unavailable':
          return { text: `The server is busy. ${STATUS.searching}`, sub: 'Retrying in a moment.' };
        default:
          return { text: STATUS.searching, sub };
      }
    }
    case 'connecting':
      return { text: STATUS.connecting, sub: st.pair?.rematch ? 'Back with the same stranger.' : '' };
    case 'connected':
      return { text: STATUS.connected, sub: st.pair?.rematch ? 'Back with the same stranger.' : '' };
    case 'ended': {
      // Waiting out the go-back window instead of searching (see state.ts).
      const holding = st.goBack !== null && (st.goBack.asked || st.goBack.wanted);
      return {
        text: STATUS.left,
        sub: holding
          ? 'Waiting a few seconds in case you both go back. Next meets someone new now.'
          : st.search.mode === 'video'
            ? 'Finding someone new in a moment...'
            : 'Press Next to meet someone new.',
      };
    }
    case 'banned':
      return { text: STATUS.banned, sub: st.bannedUntil ? `You can come back at ${clock(st.bannedUntil)}.` : '' };
  }
}

export const MEDIA_ERROR_TEXT = {
  denied: 'Camera and microphone access is blocked. Allow it in your browser\'s site settings and try again, or chat with text only.',
  missing: 'No camera was found. Connect one and try again, or chat with text only.',
  busy: 'Your camera is being used by another app. Close it and try again, or chat with text only.',
  insecure: 'This browser cannot use the camera here (a secure https connection is needed). You can chat with text only.',
  other: 'The camera could not start. Try again, or chat with text only.',
} as const;
