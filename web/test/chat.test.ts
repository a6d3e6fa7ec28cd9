import { describe, expect, it, vi } from 'vitest';
import { ChatChannel, cleanMessage, decodeFrame, encodeFrame, MAX_CHAT_CHARS, MAX_FRAME_CHARS, TYPING_REFRESH_MS } from '../src/chat';

describe('chat framing', () => {
  it('cleans and limits messages', () => {
    expect(cleanMessage('  hi  ')).toBe('hi');
    expect(cleanMessage('   ')).toBeNull();
    expect(cleanMessage('a\u0000b\u0007c')).toBe('abc');
    expect(cleanMessage('x'.repeat(MAX_CHAT_CHARS + 50))).toHaveLength(MAX_CHAT_CHARS);
  });

  it('round-trips frames and rejects junk', () => {
    expect(decodeFrame(encodeFrame({ t: 'msg', text: 'hello' }))).toEqual({ t: 'msg', text: 'hello' });
    expect(decodeFrame(encodeFrame({ t: 'typing', on: true }))).toEqual({ t: 'typing', on: true });
    expect(decodeFrame('{"t":"msg","text":"<img src=x onerror=alert(1)>"}')).toEqual({ t: 'msg', text: '<img src=x onerror=alert(1)>' });
    expect(decodeFrame('nope')).toBeNull();
    expect(decodeFrame(new ArrayBuffer(3))).toBeNull();
    expect(decodeFrame('{"t":"msg","text":5}')).toBeNull();
    expect(decodeFrame('{"t":"typing","on":"yes"}')).toBeNull();
    expect(decodeFrame(JSON.stringify({ t: 'msg', text: 'x'.repeat(MAX_FRAME_CHARS) }))).toBeNull();
  });
});

class FakeDC {
  readyState = 'open';
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  send(s: string) {
    this.sent.push(s);
  }
}

describe('ChatChannel', () => {
  it('sends cleaned messages, throttles typing, and surfaces the partner side', () => {
    vi.useFakeTimers();
    const dc = new FakeDC();
    const got: string[] = [];
    const typing: boolean[] = [];
    const ch = new ChatChannel(dc as unknown as RTCDataChannel, { open: () => undefined, message: (t) => got.push(t), typing: (on) => typing.push(on) });
    expect(ch.send('  hey ')).toBe('hey');
    expect(ch.send('   ')).toBeNull();
    ch.setTyping(true, 0);
    ch.setTyping(true, 500);
    ch.setTyping(true, TYPING_REFRESH_MS);
    ch.setTyping(false, TYPING_REFRESH_MS + 1);
    expect(dc.sent.map((s) => JSON.parse(s))).toEqual([
      { t: 'msg', text: 'hey' },
      { t: 'typing', on: true },
      { t: 'typing', on: true },
      { t: 'typing', on: false },
    ]);
    dc.onmessage?.({ data: '{"t":"typing","on":true}' });
    dc.onmessage?.({ data: '{"t":"msg","text":"hi there"}' });
    expect(got).toEqual(['hi there']);
    expect(typing).toEqual([true, false]);
    dc.onmessage?.({ data: '{"t":"typing","on":true}' });
    vi.advanceTimersByTime(6000);
    expect(typing).toEqual([true, false, true, false]);
    ch.close();
    expect(ch.send('late')).toBeNull();
    vi.useRealTimers();
  });
});
