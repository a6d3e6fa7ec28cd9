// Marks on the way from Start to the stranger's first frame, as standard
// performance marks ("serendip:start", "serendip:camera", ...), so the
// browser test can print where the time goes. They stay in this page.

const PREFIX = 'serendip:';
const MAX_MARKS = 400;

export type Step =
  | 'start'
  | 'camera'
  | 'socket'
  | 'join'
  | 'queued'
  | 'matched'
  | 'offer-sent'
  | 'offer-received'
  | 'answer-sent'
  | 'answer-received'
  | 'ice-connected'
  | 'first-frame';

export function mark(step: Step): void {
  if (typeof performance === 'undefined' || !performance.mark) return;
  // A long session of Next after Next must not grow the list for ever.
  if (performance.getEntriesByType('mark').length > MAX_MARKS) performance.clearMarks();
  performance.mark(PREFIX + step);
}
