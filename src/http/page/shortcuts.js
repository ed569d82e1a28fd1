// Keys for what agents do all day, listed by `?`: open the record due
// next, claim, play the latest recording, log an outcome, search. None
// fires while the agent types in a field, with a modifier, or over a
// dialog.
import { nextDue } from './callbacks.js';
import { infoDialog } from './dialog.js';
import { h, toast, typing } from './dom.js';
import { t } from './i18n.js';
import { focusSearch } from './list.js';
import { session } from './session.js';

function click(id) {
  const el = document.getElementById(id);
  if (el && !el.disabled) el.click();
  else toast(t('key_not_here'));
}

async function openNext() {
  const next = await nextDue(null).catch(() => null);
  if (next) location.hash = `#/cb/${next.id}`;
  else toast(t('none_waiting'));
}

function outcome() {
  const first = document.querySelector('#outcomes button');
  if (first) first.focus();
  else toast(t('key_not_here'));
}

// Key, what it does (a strings.js key), and the action.
const KEYS = [
  ['n', 'key_next', openNext],
  ['c', 'key_claim', () => click('claim')],
  ['p', 'key_play', () => click('play-latest')],
  ['o', 'key_outcome', outcome],
  ['/', 'key_search', focusSearch],
  ['?', 'key_help', showHelp],
];

/** The list of keys, in a dialog. */
export function showHelp() {
  if (document.querySelector('dialog[open]')) return;
  const rows = [...KEYS.map(([key, what]) => [key, t(what)]),
    ['← →', t('key_tabs')], ['Tab / Enter', t('key_tab')]];
  infoDialog('keys-help', t('keys_title'), h('dl', { class: 'keys' },
    rows.flatMap(([key, what]) => [h('dt', {}, h('kbd', {}, key)), h('dd', {}, what)])));
}

export function installShortcuts() {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented || typing(ev.target)) return;
    if (document.querySelector('dialog[open]')) return;
    if (!session.me || session.me.must_change_password) return;
    const found = KEYS.find(([key]) => key === ev.key);
    if (!found) return;
    ev.preventDefault();
    found[2]();
  });
}
