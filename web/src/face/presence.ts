// Pure timing logic for the face features: whether our own face counts as
// present (and when to tell the server), and whether SafeView keeps the
// stranger's video blurred. Times are plain milliseconds, passed in.

/** A face seen this recently still counts as present (one missed frame is not absence). */
export const OWN_FACE_LOST_MS = 1_500;
/** While present, the verdict is repeated this often (PROTOCOL: at least every 5 s). */
export const FACE_HEARTBEAT_MS = 4_000;
/** SafeView blurs again after this long without a face in the stranger's video. */
export const SAFEVIEW_HOLD_MS = 3_000;

/** Decides our own face verdict and when to send `face` to the server. */
export class FaceReporter {
  private lastSeen = -Infinity;
  private present = false;
  private sent: boolean | null = null;
  private sentAt = -Infinity;

  get isPresent(): boolean {
    return this.present;
  }

  /** Feed one detector result for our own camera. */
  detection(found: boolean, now: number): void {
    if (found) {
      this.lastSeen = now;
      this.present = true;
    } else if (this.present && now - this.lastSeen >= OWN_FACE_LOST_MS) {
      this.present = false;
    }
  }

  /** The camera is off or gone: no face, at once. */
  cameraOff(): void {
    this.present = false;
    this.lastSeen = -Infinity;
  }

  /** A new server session (not a resumed one) knows nothing: report again. */
  forget(): void {
    this.sent = null;
    this.sentAt = -Infinity;
  }

  /**
   * The verdict to send now, or null for nothing. Call after each detection
   * and on a steady tick. Nothing is sent before the first verdict unless it
   * is a face (absence is the server's default).
   */
  due(now: number): boolean | null {
    if (this.present && now - this.lastSeen >= OWN_FACE_LOST_MS) this.present = false;
    const changed = this.sent === null ? this.present : this.sent !== this.present;
    const heartbeat = this.present && now - this.sentAt >= FACE_HEARTBEAT_MS;
    if (!changed && !heartbeat) return null;
    this.sent = this.present;
    this.sentAt = now;
    return this.present;
  }
}

/** SafeView: the stranger's video stays blurred until a face is seen in it. */
export class SafeViewGate {
  private lastSeen = -Infinity;
  private clear = false;

  constructor(private enabled = true) {}

  /** Whether the stranger's video should be blurred now. */
  blurred(now: number): boolean {
    if (!this.enabled) return false;
    if (this.clear && now - this.lastSeen >= SAFEVIEW_HOLD_MS) this.clear = false;
    return !this.clear;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Feed one detector result for the stranger's video. */
  detection(found: boolean, now: number): void {
    if (found) {
      this.lastSeen = now;
      this.clear = true;
    }
  }

  /** A new stranger: blurred again until their face is seen. */
  reset(): void {
    this.clear = false;
    this.lastSeen = -Infinity;
  }
}
