import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadSettings, parseSettings, saveSettings } from '../src/settings';

describe('settings', () => {
  it('falls back to defaults for missing or broken data', () => {
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('{')).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('42')).toEqual(DEFAULT_SETTINGS);
  });

  it('keeps valid fields and drops ill-typed ones', () => {
    const s = parseSettings(JSON.stringify({ gateAccepted: 1, mode: 'text', interests: ['A', 'a', 3], safeView: false, hideIp: 'yes', cameraId: 7 }));
    expect(s).toMatchObject({ gateAccepted: 1, mode: 'text', interests: ['a'], safeView: false, hideIp: false, cameraId: '' });
  });

  it('round-trips through storage and survives a throwing store', () => {
    const mem = new Map<string, string>();
    const store = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    saveSettings({ ...DEFAULT_SETTINGS, hideIp: true }, store);
    expect(loadSettings(store).hideIp).toBe(true);
    const broken = {
      getItem: () => {
        throw new Error('blocked');
      },
      setItem: () => {
        throw new Error('full');
      },
    };
    expect(loadSettings(broken)).toEqual(DEFAULT_SETTINGS);
    expect(() => saveSettings(DEFAULT_SETTINGS, broken)).not.toThrow();
  });
});
