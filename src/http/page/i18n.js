// The page's language and the agent's time zone: Japanese unless the
// agent's tenant speaks English or this browser chose otherwise.
import { STRINGS } from './strings.js';

const KEY = 'afureko.lang';
const account = { language: null, timeZone: undefined };

/** The signed-in agent's tenant language and time zone (null: signed out). */
export function useAccount(me) {
  account.language = me ? me.language : null;
  account.timeZone = me ? me.time_zone : undefined;
}

export function lang() {
  const saved = localStorage.getItem(KEY);
  if (saved === 'ja' || saved === 'en') return saved;
  return account.language && account.language.startsWith('en') ? 'en' : 'ja';
}

/** The other language, kept per browser. */
export function switchLang() {
  localStorage.setItem(KEY, lang() === 'ja' ? 'en' : 'ja');
}

export function known(key) {
  return Object.hasOwn(STRINGS[lang()], key);
}

/** The text of `key`, with `{0}`, `{1}`… replaced by the arguments. */
export function t(key, ...args) {
  const text = known(key) ? STRINGS[lang()][key] : key;
  return text.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

/** The label of a value the API sends (`s_pending`, `outcome_busy`…); a
 * value newer than this page shows as it is. */
export function label(prefix, value, ...args) {
  return known(prefix + value) ? t(prefix + value, ...args) : String(value);
}

export function fmtTime(iso) {
  const opts = { timeZone: account.timeZone, dateStyle: 'short', timeStyle: 'short' };
  return new Intl.DateTimeFormat(lang(), opts).format(new Date(iso));
}

/** The time of day only, on the 24-hour clock: 13:00. */
export function fmtClock(iso) {
  const opts = { timeZone: account.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  return new Intl.DateTimeFormat(lang(), opts).format(new Date(iso));
}

export function fmtRelative(iso) {
  const minutes = Math.round((new Date(iso) - Date.now()) / 60000);
  const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: 'auto' });
  if (Math.abs(minutes) < 60) return rtf.format(minutes, 'minute');
  if (Math.abs(minutes) < 48 * 60) return rtf.format(Math.round(minutes / 60), 'hour');
  return rtf.format(Math.round(minutes / 1440), 'day');
}
