// The admin's page (`#/agents`): one panel after another, each loading its
// own data and drawing itself. A new panel is a module and a line in PANELS.
import { api, explain } from './api.js';
import { secretDialog } from './dialog.js';
import { clearInvalid, clearToast, h, markInvalid, toast } from './dom.js';
import { t } from './i18n.js';
import { agentsPanel } from './agents.js';
import { keysPanel } from './keys.js';
import { loadAgents } from './names.js';
import { settingsPanel } from './settings.js';
import { show } from './view.js';

const PANELS = [agentsPanel, keysPanel, settingsPanel];

let view = null;

/** What a panel may do: change something and see the page again. */
const admin = {
  /** Sends a change; then draws the page again and runs `done` with the
   * answer (or says "saved"). A refused input is marked at its field in
   * `form` and said in the page's language (`where`: the form's own words,
   * `labels` and `rules` by field name); any other refusal is said in the
   * form, or by a toast for a row's button. */
  async act(method, path, body, { done, where = 'agents', form, labels, rules } = {}) {
    // A new change: what was said of the last one goes.
    clearToast();
    if (form) clearInvalid(form);
    try {
      const reply = await api(method, path, body);
      loadAgents(true).catch(() => {});
      await draw(view);
      if (done) done(reply);
      else toast(t('saved'));
    } catch (err) {
      const text = explain(err, where, labels, rules);
      if (form && err.field && markInvalid(form, err.field, text)) return;
      const box = form?.querySelector('.form-error');
      if (box) box.textContent = text;
      else toast(text);
    }
  },

  /** Shows a one-time secret (a password, a key) in a dialog with a copy
   * button: `title`, what to do with it, and the secret. */
  oneTime(title, explanation, secret) {
    secretDialog(title, explanation, secret);
  },
};

async function draw(shown) {
  let data;
  try {
    data = await Promise.all(PANELS.map((panel) => panel.load()));
  } catch (err) {
    shown.render(h('p', { class: 'error' }, explain(err)));
    return;
  }
  shown.rerender(
    h('p', {}, h('a', { href: '#/', id: 'back' }, `← ${t('back')}`)),
    h('h2', {}, t('agents')),
    ...PANELS.flatMap((panel, i) => panel.render(data[i], admin)));
}

export async function showAdmin() {
  view = show(t('agents'), h('p', {}, t('loading')));
  await draw(view);
}
