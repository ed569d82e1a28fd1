// What the list and a record both show of a callback.
import { h } from './dom.js';
import { t } from './i18n.js';
import { session } from './session.js';
import { later } from './window.js';

/** The SLA colour of an open callback: over, soon (30 min) or fine; later
 * while it waits for the window its caller chose. */
export function sla(item) {
  if (item.status === 'completed' || item.status === 'failed') return null;
  if (later(item)) return 'later';
  const left = new Date(item.due_at) - Date.now();
  if (left < 0) return 'over';
  return left <= 30 * 60000 ? 'soon' : 'fine';
}

export function slaBadge(tag, item, before = '') {
  const kind = sla(item);
  return kind ? h(tag, { class: `sla sla-${kind}` }, before + t({ over: 'overdue', soon: 'soon', fine: 'fine', later: 'later' }[kind])) : null;
}

export function recordingLength(item) {
  const rec = item.recordings.filter((r) => r.duration_seconds !== null).pop();
  return rec ? t('seconds', rec.duration_seconds) : '—';
}

export function mine(item) {
  return item.claimed_by === session.me.login;
}

/** Who holds it, "(you)" added for the agent's own. */
export function holder(item) {
  return item.claimed_by + (mine(item) ? t('you') : '');
}

export function attemptCount(item) {
  return `${item.attempts.length} / ${session.me.max_attempts}`;
}
