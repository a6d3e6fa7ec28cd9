// The chat transcript: messages and system notes, text only (textContent).

import { h } from './dom';

export type From = 'me' | 'stranger' | 'system';

const MAX_ITEMS = 300;

export class ChatLog {
  constructor(private readonly list: HTMLElement) {}

  add(from: From, text: string): void {
    const who = from === 'me' ? 'You' : from === 'stranger' ? 'Stranger' : '';
    const item =
      from === 'system'
        ? h('p', { class: 'msg msg-system', text })
        : h('p', { class: `msg msg-${from}` }, [h('span', { class: 'msg-who', text: `${who}: ` }), h('span', { class: 'msg-text', text })]);
    this.list.append(item);
    while (this.list.children.length > MAX_ITEMS) this.list.firstElementChild?.remove();
    this.list.scrollTop = this.list.scrollHeight;
  }

  clear(): void {
    this.list.replaceChildren();
  }
}
