// Preferences remembered in this browser only (localStorage); nothing here is
// ever sent anywhere. Reads are defensive: storage may be missing, full,
// blocked, or hold something an older version wrote.

import { normalizeInterests } from './interests';
import type { Mode } from './protocol';

export const RULES_VERSION = 1;
const KEY = 'serendip.settings.v1';

export interface Settings {
  /** The rules version the person accepted (0 = never). */
  gateAccepted: number;
  mode: Mode;
  interests: string[];
  safeView: boolean;
  /** The nudity shield on the stranger's video (docs/client.md). */
  shield: boolean;
  hideIp: boolean;
  fallback: boolean;
  cameraId: string;
  micId: string;
}

export const DEFAULT_SETTINGS: Settings = {
  gateAccepted: 0,
  mode: 'video',
  interests: [],
  safeView: true,
  shield: true,
  hideIp: false,
  fallback: true,
  cameraId: '',
  micId: '',
};

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function storage(): StorageLike | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** Merges stored JSON over the defaults, field by field, checking types. */
export function parseSettings(raw: string | null): Settings {
  const s: Settings = { ...DEFAULT_SETTINGS, interests: [] };
  if (!raw) return s;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return s;
  }
  if (typeof v !== 'object' || v === null) return s;
  const o = v as Record<string, unknown>;
  if (typeof o.gateAccepted === 'number' && Number.isFinite(o.gateAccepted)) s.gateAccepted = o.gateAccepted;
  if (o.mode === 'video' || o.mode === 'text') s.mode = o.mode;
  if (Array.isArray(o.interests)) s.interests = normalizeInterests(o.interests.filter((x): x is string => typeof x === 'string'));
  if (typeof o.safeView === 'boolean') s.safeView = o.safeView;
  if (typeof o.shield === 'boolean') s.shield = o.shield;
  if (typeof o.hideIp === 'boolean') s.hideIp = o.hideIp;
  if (typeof o.fallback === 'boolean') s.fallback = o.fallback;
  if (typeof o.cameraId === 'string') s.cameraId = o.cameraId;
  if (typeof o.micId === 'string') s.micId = o.micId;
  return s;
}

export function loadSettings(store: StorageLike | null = storage()): Settings {
  try {
    return parseSettings(store?.getItem(KEY) ?? null);
  } catch {
    return parseSettings(null);
  }
}

export function saveSettings(s: Settings, store: StorageLike | null = storage()): void {
  try {
    store?.setItem(KEY, JSON.stringify(s));
  } catch {
    /* private mode or full: preferences just are not remembered */
  }
}
