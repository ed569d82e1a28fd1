// Modal dialogs (<dialog>): a question before a change that cannot be
// taken back, and a secret shown once where the admin is looking.
import { h } from './dom.js';
import { t } from './i18n.js';

/** Opens `dialog` modally; it is removed once closed, and the focus goes
 * back where it was. */
function open(dialog) {
  const before = document.activeElement;
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (before && before.isConnected) before.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Asks `question`; resolves true when the agent confirms with `yes`.
 * Escape or "cancel" is no. */
export function confirmDialog(question, yes, { danger = false } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { id: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, question),
      h('form', { method: 'dialog', class: 'actions' },
        h('button', { value: 'yes', id: 'confirm-yes', class: danger ? 'danger' : 'primary' }, yes),
        h('button', { value: 'no', id: 'confirm-no' }, t('cancel'))));
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'));
    open(dialog);
    dialog.querySelector('#confirm-no').focus();
  });
}

/** Shows a one-time secret (a password, a key) with what to do with it
 * and a copy button; it is not shown again once closed. */
export function secretDialog(title, explanation, secret) {
  const status = h('p', { role: 'status', id: 'secret-copied', class: 'muted' });
  const value = h('input', { id: 'secret', readonly: true, value: secret, 'aria-labelledby': 'secret-title', spellcheck: 'false' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
    } catch {
      value.select();
      document.execCommand('copy');
    }
    status.textContent = t('copied');
  };
  const dialog = h('dialog', { id: 'secret-dialog', 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title' }, title),
    h('p', {}, explanation),
    value,
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'secret-copy', class: 'primary', onclick: copy }, t('copy')),
      h('form', { method: 'dialog' }, h('button', { id: 'secret-close' }, t('close')))),
    status);
  open(dialog);
  dialog.querySelector('#secret-copy').focus();
}

/** Shows `body` under `title` until closed (the shortcuts' help). */
export function infoDialog(id, title, body) {
  const dialog = h('dialog', { id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title), body,
    h('form', { method: 'dialog', class: 'actions' }, h('button', { id: `${id}-close`, class: 'primary' }, t('close'))));
  open(dialog);
  dialog.querySelector(`#${id}-close`).focus();
}
