// Does a chat message look like it shares contact details (a phone number,
// an e-mail address, a social handle or a link)? Pure text matching, run
// only in this browser before a message goes out; the page then asks once.
// It leans towards asking: a needless question costs a click, a missed one
// can cost a stranger's privacy. Ordinary numbers (times, ages, prices,
// dates, years) are not contact details.

export type ContactKind = 'phone' | 'email' | 'handle' | 'link';

// Mail providers people name when they spell an address out ("bob at gmail").
// Only names that are not also everyday words ("live", "mail", "free").
const PROVIDERS = 'gmail|googlemail|yahoo|ymail|hotmail|outlook|msn|icloud|aol|protonmail|proton|gmx|yandex|zoho|qq|wanadoo|libero|t-online|comcast|verizon';

// Top-level domains seen in shared links. Those that are also common words
// ("so", "it", "me", ...) only count with a path or a "www." in front.
const TLDS =
  'com|net|org|info|biz|io|co|ly|gg|tv|app|dev|xyz|link|site|online|live|club|shop|store|page|blog|fun|pro|cc|ru|de|uk|fr|es|nl|pl|br|ca|au|ch|se|no|dk|fi|cz|jp|cn|kr|eu|us|ua|tr|mx|ar|nz|za|ro|gr|hu|pt|ie|sk|ws|la|fm|am|to|me|be|in|it|is|so|at|my|do|go|id|im|ph|sg|vn|th';
const WORD_TLDS = new Set(['to', 'me', 'be', 'in', 'it', 'is', 'so', 'at', 'my', 'do', 'go', 'id', 'im', 'am', 'no', 'us', 'la', 'fm']);
// Short-link and messenger domains that are always links.
const LINK_HOSTS = /\b(?:t\.me|wa\.me|youtu\.be|discord\.gg|bit\.ly|linktr\.ee|m\.me|snapchat\.com|instagram\.com|tiktok\.com|onlyfans\.com|x\.com|fb\.me)\b/i;

// Where people say who they are elsewhere.
const PLATFORMS =
  'insta|instagram|ig|snap|snapchat|sc|tiktok|tik tok|tt|twitter|telegram|tg|tele|discord|dc|kik|fb|facebook|skype|wechat|weixin|whatsapp|whats app|wa|signal|viber|line id|threads|reddit|twitch|youtube|yt|onlyfans|of|bluesky|bsky|mastodon|steam|psn|xbox|gamertag|email|e-mail|mail|number|phone|cell|mob|mobile|tel';

// Words after "my insta is" that say something about it rather than name it.
const NOT_HANDLES = new Set(
  'a an the not no private public down broken dead banned gone new old empty boring fun cool deleted hacked locked full off on only just so too very really there here it this that same mine yours full'.split(' '),
);

/** What a message seems to share, or null for ordinary text. */
export function contactKind(message: string): ContactKind | null {
  const text = message.normalize('NFKC');
  if (hasEmail(text)) return 'email';
  if (hasLink(text)) return 'link';
  if (hasHandle(text)) return 'handle';
  if (hasPhone(text)) return 'phone';
  return null;
}

/** How the warning names what it saw. */
export const CONTACT_WORDS: Record<ContactKind, string> = {
  phone: 'a phone number',
  email: 'an e-mail address',
  handle: 'a social media handle',
  link: 'a link',
};

export function looksLikeContact(message: string): boolean {
  return contactKind(message) !== null;
}

// ---- e-mail -------------------------------------------------------------

const AT = String.raw`(?:\s*@\s*|\s*[[({<]\s*at\s*[\])}>]\s*|\s+at\s+|\s+@\s+)`;
const DOT = String.raw`(?:\.|\s*[[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+|\s+\.\s+)`;
const EMAIL_PLAIN = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/u;
const STRONG_TLDS = TLDS.split('|').filter((t) => !WORD_TLDS.has(t)).join('|');
const EMAIL_SPELLED = new RegExp(String.raw`[\p{L}\p{N}._%+-]+${AT}[\p{L}\p{N}-]+(?:${DOT}[\p{L}\p{N}-]+)*${DOT}(?:${STRONG_TLDS})\b`, 'iu');
const EMAIL_PROVIDER = new RegExp(String.raw`[\p{L}\p{N}._%+-]+${AT}(?:${PROVIDERS})\b`, 'iu');

function hasEmail(t: string): boolean {
  if (EMAIL_PLAIN.test(t)) return true;
  // Spelled out: "john at gmail dot com", "john [at] gmail [dot] com", "bob at hotmail".
  return EMAIL_SPELLED.test(t) || EMAIL_PROVIDER.test(t);
}

// ---- links --------------------------------------------------------------

const SCHEME = /\b(?:https?:\/\/|www\.)\S/i;
const DOMAIN = new RegExp(String.raw`(?:^|[^\p{L}\p{N}@.-])((?:[\p{L}\p{N}-]+\.)+)(${TLDS})(?![\p{L}\p{N}-])(\/\S*)?`, 'giu');
const SPELLED_DOMAIN = new RegExp(String.raw`\b[\p{L}\p{N}-]{2,}(?:\s*[[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+)(?:com|net|org|io|co|me|tv|gg|ly|ru|de|uk|fr)\b`, 'iu');

function hasLink(t: string): boolean {
  if (SCHEME.test(t) || LINK_HOSTS.test(t) || SPELLED_DOMAIN.test(t)) return true;
  for (const m of t.matchAll(DOMAIN)) {
    const labels = m[1].slice(0, -1).split('.');
    const tld = m[2].toLowerCase();
    // "3.5", "v1.2": numbers are not hosts.
    if (labels.every((l) => /^\d+$/.test(l))) continue;
    if (WORD_TLDS.has(tld) && !m[3] && labels.length < 2) continue;
    return true;
  }
  return false;
}

// ---- handles ------------------------------------------------------------

const AT_HANDLE = /(?:^|[\s(,;:!?"'])@([\p{L}\p{N}_][\p{L}\p{N}_.]{1,29})/u;
const TIME_LIKE = /^\d{1,2}(?:[:.h]\d{2})?(?:am|pm|h)?$/i;
const PLATFORM_COLON = new RegExp(String.raw`\b(?:${PLATFORMS})\s*(?::|=|->|=>|>|-|—)\s*@?([\p{L}\p{N}_.#]{2,})`, 'iu');
const PLATFORM_IS = new RegExp(String.raw`\bmy\s+(?:${PLATFORMS})(?:\s+(?:name|handle|username|user|id|account|acc|tag|@))?\s+(?:is|=)\s+@?([\p{L}\p{N}_.#]{2,})`, 'iu');
const PLATFORM_CODE = new RegExp(String.raw`\b(?:add me on|find me on|follow me on|message me on|dm me on|hit me up on|text me on)?\s*(?:${PLATFORMS})\s+@?([\p{L}\p{N}._]*[\p{N}_.][\p{L}\p{N}._]*)`, 'iu');
const ADD_ME = new RegExp(String.raw`\b(?:add|find|follow|message|dm|text|hit)\s+me(?:\s+up)?\s+(?:on|at|in)\s+(?:${PLATFORMS})\s*[:\-]?\s*@?([\p{L}\p{N}_.#]{2,})`, 'iu');
const DISCORD_TAG = /\b[\p{L}\p{N}_.]{2,32}#\d{4}\b/u;

function realHandle(h: string | undefined): boolean {
  if (!h) return false;
  const name = h.replace(/[.]+$/, '');
  if (name.length < 2 || NOT_HANDLES.has(name.toLowerCase())) return false;
  return !TIME_LIKE.test(name);
}

function hasHandle(t: string): boolean {
  const at = AT_HANDLE.exec(t);
  if (at && realHandle(at[1])) return true;
  if (DISCORD_TAG.test(t)) return true;
  for (const re of [PLATFORM_COLON, PLATFORM_IS, ADD_ME]) {
    if (realHandle(re.exec(t)?.[1])) return true;
  }
  // "snap bob_99", "ig anna.k": a platform right before a name with digits, dots or underscores.
  const code = PLATFORM_CODE.exec(t);
  return code !== null && realHandle(code[1]) && /\p{L}/u.test(code[1]) && !/^\d+(?:[.,]\d+)?$/.test(code[1]);
}

// ---- phone numbers ------------------------------------------------------

// A run of digits with the separators people put in phone numbers.
const DIGIT_RUN = /(?:\+|\b00)?\(?\d[\d\s().\-\u2010-\u2015]*\d/g;

function hasPhone(t: string): boolean {
  // Times (10:30), prices ($19.99, 1,299), percentages: take them out first.
  const cleaned = t
    .replace(/\d{1,2}:\d{2}(?::\d{2})?/g, ' ')
    .replace(/[$€£¥₹]\s?\d[\d,.\s]*|\d[\d,.]*\s?(?:[$€£¥₹%]|k\b|usd|eur|gbp|euros?|dollars?|bucks)/gi, ' ');
  for (const m of cleaned.matchAll(DIGIT_RUN)) {
    if (isPhone(m[0].trim())) return true;
  }
  return false;
}

function isPhone(run: string): boolean {
  const digits = run.replace(/\D/g, '');
  const intl = run.startsWith('+') || run.startsWith('00');
  // Longer than any phone number: maybe several, written one after another.
  if (digits.length > 15) {
    const parts = run.split(/\s+/);
    return parts.length > 1 && parts.some((part) => isPhone(part));
  }
  if (intl) return digits.length >= 8;
  const groups = run.split(/[^\d]+/).filter(Boolean);
  if (groups.length === 1) return digits.length >= 8;
  if (digits.length < 7) return false;
  if (isDateOrRange(groups, run)) return false;
  // "2 500 000", "1.000.000": thousands, not a number to call.
  if (/^\d{1,3}(?:([ .])\d{3})(?:\1\d{3})*$/.test(run)) return false;
  // "192.168.1.10": an address on a network, not a phone.
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(run)) return false;
  return true;
}

function isDateOrRange(groups: string[], run: string): boolean {
  const year = (g: string) => g.length === 4 && /^(?:19|20)\d\d$/.test(g);
  const small = (g: string) => g.length <= 2;
  // 12.05.2023, 2023-12-05, 5 12 2023
  if (groups.length === 3 && ((year(groups[0]) && small(groups[1]) && small(groups[2])) || (year(groups[2]) && small(groups[0]) && small(groups[1])))) return true;
  // 1990-2000, 2019 - 2023
  if (groups.length === 2 && year(groups[0]) && year(groups[1]) && /[-\u2010-\u2015]/.test(run)) return true;
  return false;
}
