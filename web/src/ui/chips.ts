// The interests chip input: type and press Enter or comma to add (up to 5),
// Backspace on an empty box removes the last, each chip has its own remove
// button. Values are normalised as PROTOCOL.md asks.

import { MAX_INTERESTS, normalizeInterest, splitInterestInput } from '../interests';
import { h, icon } from './dom';

export class ChipInput {
  private values: string[] = [];

  constructor(
    private readonly list: HTMLUListElement,
    private readonly input: HTMLInputElement,
    private readonly help: HTMLElement,
    private readonly onChange: (values: string[]) => void,
  ) {
    input.addEventListener('keydown', (ev) => this.onKey(ev));
    input.addEventListener('input', () => {
      if (/[,;]/.test(input.value)) this.commit();
    });
    input.addEventListener('blur', () => this.commit());
    input.addEventListener('paste', (ev) => {
      const text = ev.clipboardData?.getData('text') ?? '';
      if (/[,;\n]/.test(text)) {
        ev.preventDefault();
        this.add(splitInterestInput(input.value + text));
        input.value = '';
      }
    });
    // Clicking the empty space of the box focuses the text field.
    list.parentElement?.addEventListener('click', (ev) => {
      if (ev.target === list.parentElement || ev.target === list) input.focus();
    });
  }

  get value(): string[] {
    return [...this.values];
  }

  set(values: string[]): void {
    this.values = [];
    this.add(values, false);
  }

  setDisabled(disabled: boolean): void {
    this.input.disabled = disabled;
    for (const b of this.list.querySelectorAll('button')) b.disabled = disabled;
  }

  private onKey(ev: KeyboardEvent): void {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      this.commit();
    } else if (ev.key === 'Backspace' && this.input.value === '' && this.values.length > 0) {
      ev.preventDefault();
      this.remove(this.values.length - 1);
    }
  }

  private commit(): void {
    const parts = splitInterestInput(this.input.value);
    if (parts.every((p) => p.trim() === '')) {
      this.input.value = '';
      return;
    }
    this.add(parts);
    this.input.value = '';
  }

  private add(raw: string[], notify = true): void {
    let full = false;
    for (const r of raw) {
      const n = normalizeInterest(r);
      if (n === null || this.values.includes(n)) continue;
      if (this.values.length >= MAX_INTERESTS) {
        full = true;
        break;
      }
      this.values.push(n);
    }
    this.render();
    this.help.textContent = full
      ? `You can add up to ${MAX_INTERESTS} interests.`
      : 'Press Enter or comma to add. We look for someone who shares one.';
    if (notify) this.onChange(this.value);
  }

  private remove(i: number): void {
    this.values.splice(i, 1);
    this.render();
    this.onChange(this.value);
    this.input.focus();
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.values.map((v, i) => {
        const btn = h('button', { class: 'chip-x', attrs: { type: 'button', 'aria-label': `Remove ${v}` } }, [icon('i-close')]);
        btn.addEventListener('click', () => this.remove(i));
        return h('li', { class: 'chip' }, [h('span', { text: v }), btn]);
      }),
    );
    this.input.placeholder = this.values.length >= MAX_INTERESTS ? '' : this.values.length ? 'Add another...' : 'music, films, travel...';
  }
}
