// What the list and a record both show of a callback.
import { api } from './api.js';
import { h } from './dom.js';
import { fmtDue, t } from './i18n.js';
import { heldBy, nameOf } from './names.js';
import { session } from './session.js';
import { later } from './window.js';

/** Within this many minutes a record is due soon (the API's `due=soon`). */
export const SOON_MINUTES = 30;

/** The SLA colour of an open callback: over, soon or fine; later while it
 * waits for the window its caller chose. */
export function sla(item) {
  if (item.status === 'completed' || item.status === 'failed') return null;
  if (later(item)) return 'later';
  const left = new Date(item.due_at) - Date.now();
  if (left < 0) return 'over';
  return left <= SOON_MINUTES * 60000 ? 'soon' : 'fine';
}

/** The SLA as colour and words, with the time left or past:
 * 「期限超過（15分経過）」, 「まもなく期限（あと25分）」. */
export function slaBadge(tag, item) {
  const kind = sla(item);
  if (!kind) return null;
  const words = t({ over: 'overdue', soon: 'soon', fine: 'fine', later: 'later' }[kind]);
  if (kind === 'later') return h(tag, { class: 'sla sla-later' }, words);
  return h(tag, { class: `sla sla-${kind}` }, t('sla_badge', words, fmtDue(item.due_at)));
}

export function recordingLength(item) {
  const rec = item.recordings.filter((r) => r.duration_seconds !== null).pop();
  return rec ? t('seconds', rec.duration_seconds) : '—';
}

export function mine(item) {
  return item.claimed_by === session.me.login;
}

/** Who holds it, by name: 「あなた」 for the agent's own. */
export function holder(item) {
  return mine(item) ? t('you_subject') : nameOf(item.claimed_by);
}

/** 「佐藤さんが対応中です」 or 「あなたが対応中です」. */
export function heldText(item) {
  return heldBy(item.claimed_by);
}

export function attemptCount(item) {
  return `${item.attempts.length} / ${session.me.max_attempts}`;
}

/** When the caller last called: the first call or the latest repeat call. */
export function latestCall(item) {
  return item.history
    .filter((e) => (e.kind === 'arrived' || e.kind === 'repeat_call') && e.at)
    .map((e) => e.at)
    .reduce((a, b) => (new Date(b) > new Date(a) ? b : a), item.received_at);
}

/** The number as people read it, and 「番号未確認」 when the caller hung
 * up before confirming it (it is their caller ID). */
export function numberOf(item, tag = 'span') {
  return h(tag, { class: 'number' },
    h('span', { class: 'digits' }, item.callback_display),
    item.confirmation === 'unconfirmed'
      ? h('span', { class: 'badge unconfirmed', title: t('unconfirmed_why') }, t('unconfirmed'))
      : null);
}

/** The pending record due next (not `except`), or null. */
export async function nextDue(except) {
  const page = await api('GET', '/api/v1/callbacks?status=pending&limit=3');
  return page.items.find((item) => item.id !== except) ?? null;
}
