// Local camera and microphone: asking for them, telling apart why they are
// not available, device choice, front/back switch, mute, and releasing them.

import type { MediaError } from './state';

export type Facing = 'user' | 'environment';

export interface DeviceChoice {
  cameraId?: string;
  micId?: string;
  facing?: Facing;
}

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  mics: MediaDeviceInfo[];
}

/** Maps a getUserMedia failure to what we tell the person. */
export function classifyMediaError(e: unknown): MediaError {
  const name = typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    case 'TypeError':
      return 'insecure';
    default:
      return 'other';
  }
}

function videoConstraints(c: DeviceChoice): MediaTrackConstraints {
  const v: MediaTrackConstraints = {
    width: { ideal: 640 },
    height: { ideal: 480 },
    frameRate: { ideal: 24, max: 30 },
  };
  if (c.cameraId) v.deviceId = { exact: c.cameraId };
  else v.facingMode = c.facing ?? 'user';
  return v;
}

function audioConstraints(c: DeviceChoice): MediaTrackConstraints {
  const a: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (c.micId) a.deviceId = { exact: c.micId };
  return a;
}

export class LocalMedia {
  stream: MediaStream | null = null;
  facing: Facing = 'user';
  private micOn = true;
  private camOn = true;

  get videoTrack(): MediaStreamTrack | null {
    return this.stream?.getVideoTracks()[0] ?? null;
  }

  get audioTrack(): MediaStreamTrack | null {
    return this.stream?.getAudioTracks()[0] ?? null;
  }

  get tracks(): MediaStreamTrack[] {
    return this.stream?.getTracks() ?? [];
  }

  get micEnabled(): boolean {
    return this.micOn;
  }

  get camEnabled(): boolean {
    return this.camOn;
  }

  /** Whether the preview should be mirrored (front cameras only). */
  get mirrored(): boolean {
    const s = this.videoTrack?.getSettings();
    if (s?.facingMode) return s.facingMode !== 'environment';
    return this.facing === 'user';
  }

  /**
   * Asks for camera and microphone. If there is a camera but no usable
   * microphone, goes on with the camera alone. Throws a MediaError string.
   */
  async acquire(choice: DeviceChoice = {}): Promise<MediaStream> {
    if (!navigator.mediaDevices?.getUserMedia) throw 'insecure' satisfies MediaError;
    this.release();
    this.facing = choice.facing ?? 'user';
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(choice), audio: audioConstraints(choice) });
    } catch (e) {
      const kind = classifyMediaError(e);
      if (kind === 'denied') throw kind;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: videoConstraints({ ...choice, cameraId: undefined }) });
      } catch (e2) {
        throw classifyMediaError(e2);
      }
    }
    this.stream = stream;
    this.applyEnabled();
    return stream;
  }

  release(): void {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
  }

  setMic(on: boolean): void {
    this.micOn = on;
    this.applyEnabled();
  }

  setCam(on: boolean): void {
    this.camOn = on;
    this.applyEnabled();
  }

  /** Replaces the camera (by id or facing). Returns the new track. */
  async switchCamera(choice: { cameraId?: string; facing?: Facing }): Promise<MediaStreamTrack | null> {
    if (!this.stream) return null;
    const s = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(choice) });
    const track = s.getVideoTracks()[0];
    if (choice.facing) this.facing = choice.facing;
    const old = this.videoTrack;
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    this.applyEnabled();
    return track;
  }

  /** Replaces the microphone. Returns the new track. */
  async switchMic(micId: string): Promise<MediaStreamTrack | null> {
    if (!this.stream) return null;
    const s = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints({ micId }) });
    const track = s.getAudioTracks()[0];
    const old = this.audioTrack;
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    this.applyEnabled();
    return track;
  }

  async listDevices(): Promise<DeviceLists> {
    if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], mics: [] };
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
      mics: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
    };
  }

  private applyEnabled(): void {
    for (const t of this.stream?.getAudioTracks() ?? []) t.enabled = this.micOn;
    for (const t of this.stream?.getVideoTracks() ?? []) t.enabled = this.camOn;
  }
}
