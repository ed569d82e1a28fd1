// Callback windows (issue #22): a record whose caller chose when to be
// called back shows the window's hours, and in the pending list waits
// "later", in a section of its own, until the window opens (the list's
// `not_before`).
import { h } from './dom.js';
import { fmtClock, t } from './i18n.js';

/** Whether a list row waits for its window to open. */
export function later(item) {
  return Boolean(item.not_before) && new Date(item.not_before) > Date.now();
}

/** The chosen window's hours ("13:00–17:00"), or nothing. */
export function windowHours(tag, item) {
  return item.window
    ? h(tag, { class: 'window' }, t('window_hours', fmtClock(item.window.start), fmtClock(item.window.end)))
    : null;
}

/** The pending rows that wait, in a table under their own heading, or
 * nothing. `table(rows, id)` makes the list's table. */
export function laterSection(items, table) {
  const waiting = items.filter(later);
  return waiting.length
    ? [h('h3', { id: 'later' }, t('later_heading')), table(waiting, 'later-list')]
    : [];
}
