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

function locale() {
  return lang() === 'ja' ? 'ja-JP' : 'en-US';
}

function year(date) {
  return new Intl.DateTimeFormat('en-US', { timeZone: account.timeZone, year: 'numeric' }).format(date);
}

/** A date and time no reader mistakes: "Dec 7, 12:30", 「12月7日 12:30」,
 * the year added when it is not this year's. */
export function fmtTime(iso) {
  const date = new Date(iso);
  const opts = {
    timeZone: account.timeZone, month: lang() === 'ja' ? 'long' : 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  };
  if (year(date) !== year(new Date())) opts.year = 'numeric';
  return new Intl.DateTimeFormat(locale(), opts).format(date);
}

/** The time of day only: 12:30. */
export function fmtClock(iso) {
  const opts = { timeZone: account.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  return new Intl.DateTimeFormat(locale(), opts).format(new Date(iso));
}

/** A length of time: 「25分」, "2 hours". */
function fmtSpan(minutes) {
  const [value, unit] = minutes < 60 ? [minutes, 'minute']
    : minutes < 48 * 60 ? [Math.round(minutes / 60), 'hour'] : [Math.round(minutes / 1440), 'day'];
  return new Intl.NumberFormat(locale(), { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/** How long ago something happened: 「3時間前」, "3 hours ago". */
export function fmtRelative(iso) {
  const minutes = Math.round((new Date(iso) - Date.now()) / 60000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  if (Math.abs(minutes) < 60) return rtf.format(minutes, 'minute');
  if (Math.abs(minutes) < 48 * 60) return rtf.format(Math.round(minutes / 60), 'hour');
  return rtf.format(Math.round(minutes / 1440), 'day');
}

/** What is left before a due time, or how far past it: 「あと25分」,
 * 「15分超過」. */
export function fmtDue(iso) {
  const minutes = Math.round((new Date(iso) - Date.now()) / 60000);
  return minutes >= 0 ? t('due_in', fmtSpan(minutes)) : t('overdue_by', fmtSpan(-minutes));
}
