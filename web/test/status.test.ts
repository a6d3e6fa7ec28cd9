import { describe, expect, it } from 'vitest';
import { initialState, type State } from '../src/state';
import { STATUS, statusText } from '../src/ui/status';

const st = (patch: Partial<State>): State => ({ ...initialState(true), ...patch });

describe('statusText', () => {
  it('uses the wording the issue asks for', () => {
    expect(statusText(st({ phase: 'searching' })).text).toBe('Looking for someone...');
    expect(statusText(st({ phase: 'connected' })).text).toBe('Connected');
    expect(statusText(st({ phase: 'ended' })).text).toBe('Stranger left');
    expect(statusText(st({ phase: 'searching', notice: 'failed' })).text).toBe('Connection failed - trying someone else');
  });

  it('shows the online count and interests while searching', () => {
    const s = statusText(st({ phase: 'searching', online: 1234, search: { mode: 'video', interests: ['music', 'films'], fallback: true, relayOnly: false } }));
    expect(s.sub).toBe('Matching on music, films. 1,234 people online');
    expect(statusText(st({ phase: 'searching', online: 1 })).sub).toBe('Only you are online right now');
  });

  it('explains waiting for a face', () => {
    expect(statusText(st({ phase: 'waiting-face' })).text).toBe(STATUS.face);
  });
});

describe('statusText for going back', () => {
  it('marks a restored pair and a page waiting for the stranger to go back', () => {
    const pair = { id: 2, role: 'offerer' as const, common: [], rematch: true };
    expect(statusText(st({ phase: 'connecting', pair })).sub).toBe('Back with the same stranger.');
    expect(statusText(st({ phase: 'connected', pair })).sub).toBe('Back with the same stranger.');
    expect(statusText(st({ phase: 'connected', pair: { ...pair, rematch: false } })).sub).toBe('');
    expect(statusText(st({ phase: 'ended', goBack: { asked: true, wanted: false } })).sub).toMatch(/in case you both go back/);
    expect(statusText(st({ phase: 'ended', goBack: { asked: false, wanted: false } })).sub).toBe('Finding someone new in a moment...');
  });
});
