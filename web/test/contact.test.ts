import { describe, expect, it } from 'vitest';
import { contactKind, looksLikeContact } from '../src/contact';

const cases: Record<string, string[]> = {
  phone: [
    '+44 7700 900123',
    '+44 (0)20 7946 0958',
    '+1 415-555-0132',
    '+1 (415) 555-0132',
    '+33 6 12 34 56 78',
    '+49 151 23456789',
    '+49-30-1234567',
    '+7 912 345-67-89',
    '+91 98765 43210',
    '+61 412 345 678',
    '+34 612.345.678',
    '+55 11 91234-5678',
    '0044 7700 900123',
    '06.12.34.56.78',
    '06 12 34 56 78',
    '07700 900123',
    '(415) 555-0132',
    '415.555.0132',
    '415-555-0132',
    '555-1234 call me',
    'text me on 5551234567',
    'my number is 0 7 7 0 0 9 0 0 1 2 3',
    'whatsapp me 0151–23456789',
    'call me 020 7946 0958 after work',
    '＋４４ ７７００ ９００１２３',
  ],
  email: [
    'john@gmail.com',
    'mail me: anna.k+chat@proton.me',
    'Write to jo_99@mail.example.co.uk!',
    'john at gmail dot com',
    'john [at] gmail [dot] com',
    'john(at)gmail(dot)com',
    'john {at} yahoo {dot} fr',
    'john @ gmail . com',
    'john at gmail.com',
    'its sara at hotmail',
    'bob at outlook dot de',
    'JOHN AT GMAIL DOT COM',
  ],
  handle: [
    '@name',
    'follow me @cool_guy99',
    'hi (@anna.k)',
    'insta: name',
    'Insta: anna.k',
    'ig: bob',
    'IG - bob',
    'snap: jake',
    'sc=jake_22',
    'tiktok: dancer',
    'discord: wolf',
    'telegram: @wolf',
    'my insta is anna.k',
    'my snap is jakey',
    'my snapchat username is jakey',
    'add me on snap jake',
    'find me on instagram annak',
    'add me on discord: wolf',
    'snap bob_99',
    'ig anna.k',
    'wolf#1234',
    'kik: someone',
    'whatsapp: +44 7700 900123',
  ],
  link: [
    'www.example.com',
    'example.com',
    'check out mysite.io',
    'my page: myname.github.io',
    'bit.ly/abc123',
    't.me/somebody',
    'wa.me/447700900123',
    'instagram.com/anna.k',
    'youtu.be/dQw4w9WgXcQ',
    'https://example.org/x',
    'http://foo.bar.de',
    'discord.gg/abcd',
    'linktr.ee/anna',
    'go to anna.me/about',
    'shop.example.co.uk/item',
    'mysite dot com',
    'mysite (dot) net',
    'EXAMPLE.COM',
  ],
};

const ordinary = [
  'hi',
  'hello there, how are you?',
  "I'm 25",
  'I am 19 and you?',
  'it is 10:30 pm here',
  'see you at 7pm',
  'meet at 18:45',
  '10:30:15',
  'it costs $19.99',
  'that was €1,299',
  'about 1.299,99 €',
  '£5 for a coffee',
  '2 500 000 people live there',
  'a million is 1.000.000',
  'I paid 1299 for it',
  '1,000,000 views',
  '100% agree',
  'born in 1998',
  'from 1990-2000 I lived there',
  'work 9-5',
  'my birthday is 12.05.1999',
  'on 2023-12-05',
  '05/12/2023',
  'room 101',
  'top 10 films',
  "I'm 5'11",
  '6 ft 2',
  'pi is 3.14159',
  'we won 21-19',
  'I have 2 cats and 3 dogs',
  'I slept 8 hours',
  'the year 2024 was great',
  'version 1.2.3',
  'node.js is fun',
  'e.g. this, i.e. that, etc.',
  'ok.so what now',
  'I am at home',
  'I work at google',
  'I am at work. So bored',
  'I love instagram',
  'do you use snapchat?',
  'my insta is private',
  'my snap is broken lol',
  'email is annoying',
  'what is your number one film?',
  'insta or tiktok?',
  'at 5 or 6',
  'let us meet @ 5pm',
  'I scored 98 out of 100',
  '192.168.1.10 is my router',
  'call me later',
  'the dot is small',
  'I paid 2 500 € for it',
  'my phone is old',
  '1 2 3 go',
  'hi.how are you',
  'yes.no',
  'I live in new york.it is nice',
  'at 7 a.m. or 5 p.m.',
  'in the U.S. or the U.K.',
  'call me at 7 tonight',
  'my score is 1234567',
  'born 12 05 1999',
  'between 2019 and 2023',
  '2 or 3 days',
  'it was 12°C today',
  '3x3 = 9',
  'I am 1m80',
];

describe('contactKind', () => {
  for (const [kind, list] of Object.entries(cases)) {
    for (const text of list) {
      it(`${kind}: ${text}`, () => {
        expect(looksLikeContact(text)).toBe(true);
        // The kind is for wording only; a message may fit two (an @ handle with a number).
        if (!['whatsapp: +44 7700 900123', 'wa.me/447700900123'].includes(text)) expect(contactKind(text)).toBe(kind);
      });
    }
  }

  for (const text of ordinary) {
    it(`ordinary: ${text}`, () => {
      expect(contactKind(text)).toBeNull();
    });
  }

  it('survives anything a person might paste', () => {
    expect(contactKind('')).toBeNull();
    expect(contactKind('x'.repeat(500))).toBeNull();
    expect(contactKind('9'.repeat(500))).toBeNull();
    expect(contactKind('07700 900123 or 07700 900124')).toBe('phone');
    expect(contactKind('. '.repeat(250))).toBeNull();
    expect(contactKind('@'.repeat(500))).toBeNull();
    // Long inputs stay fast (no catastrophic backtracking).
    const t0 = Date.now();
    for (const s of ['a.'.repeat(250), '1 '.repeat(250), 'a at '.repeat(100), '@a '.repeat(160), '(('.repeat(250)]) contactKind(s);
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
