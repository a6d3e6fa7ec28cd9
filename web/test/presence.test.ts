import { describe, expect, it } from 'vitest';
import { FACE_HEARTBEAT_MS, FaceReporter, OWN_FACE_LOST_MS, SAFEVIEW_HOLD_MS, SafeViewGate } from '../src/face/presence';

describe('FaceReporter', () => {
  it('sends nothing until a face is seen', () => {
    const r = new FaceReporter();
    r.detection(false, 0);
    expect(r.due(0)).toBeNull();
    expect(r.due(10_000)).toBeNull();
  });

  it('sends true at once, then a heartbeat while present, at least every 5 s', () => {
    const r = new FaceReporter();
    r.detection(true, 0);
    expect(r.due(0)).toBe(true);
    let t = 0;
    const sentAt = [0];
    while (t < 20_000) {
      t += 250;
      r.detection(true, t);
      if (r.due(t) !== null) sentAt.push(t);
    }
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i] - sentAt[i - 1]).toBeLessThanOrEqual(5_000);
    expect(sentAt[1]).toBe(FACE_HEARTBEAT_MS);
  });

  it('tolerates a missed frame but reports false after the face is gone', () => {
    const r = new FaceReporter();
    r.detection(true, 0);
    r.due(0);
    r.detection(false, 500);
    expect(r.isPresent).toBe(true);
    expect(r.due(500)).toBeNull();
    r.detection(false, OWN_FACE_LOST_MS);
    expect(r.isPresent).toBe(false);
    expect(r.due(OWN_FACE_LOST_MS)).toBe(false);
    expect(r.due(OWN_FACE_LOST_MS + 10_000)).toBeNull();
  });

  it('goes false when detections stop arriving', () => {
    const r = new FaceReporter();
    r.detection(true, 0);
    r.due(0);
    expect(r.due(OWN_FACE_LOST_MS + 1)).toBe(false);
  });

  it('cameraOff is immediate; forget() re-reports to a fresh session', () => {
    const r = new FaceReporter();
    r.detection(true, 0);
    r.due(0);
    r.forget();
    expect(r.due(100)).toBe(true);
    r.cameraOff();
    expect(r.due(200)).toBe(false);
  });
});

describe('SafeViewGate', () => {
  it('is blurred until a face is seen, then again after 3 s without one', () => {
    const g = new SafeViewGate();
    expect(g.blurred(0)).toBe(true);
    g.detection(false, 100);
    expect(g.blurred(100)).toBe(true);
    g.detection(true, 200);
    expect(g.blurred(200)).toBe(false);
    g.detection(false, 1000);
    expect(g.blurred(200 + SAFEVIEW_HOLD_MS - 1)).toBe(false);
    expect(g.blurred(200 + SAFEVIEW_HOLD_MS)).toBe(true);
  });

  it('reset() blurs for a new stranger; disabled never blurs', () => {
    const g = new SafeViewGate();
    g.detection(true, 0);
    g.reset();
    expect(g.blurred(1)).toBe(true);
    g.setEnabled(false);
    expect(g.blurred(2)).toBe(false);
    expect(new SafeViewGate(false).blurred(0)).toBe(false);
  });
});
