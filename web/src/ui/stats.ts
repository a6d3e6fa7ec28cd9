// The idle screen's "On this device" numbers, read from play/streaks.ts.

import { formatDuration, view, type Stats } from '../play/streaks';
import { byId, setText } from './dom';

export class StatsView {
  private readonly today = byId('stat-today');
  private readonly streak = byId('stat-streak');
  private readonly kudos = byId('stat-kudos');
  private readonly longest = byId('stat-longest');

  render(s: Stats, now = Date.now()): void {
    const v = view(s, now);
    setText(this.today, String(v.chatsToday));
    setText(this.streak, String(v.streak));
    setText(this.kudos, String(v.kudos));
    setText(this.longest, v.longestMs > 0 ? formatDuration(v.longestMs) : '-');
  }
}
