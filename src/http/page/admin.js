// The admin's page (`#/agents`): one panel after another, each loading its
// own data and drawing itself. A new panel is a module and a line in PANELS.
import { api, explain } from './api.js';
import { h, markInvalid, toast } from './dom.js';
import { t } from './i18n.js';
import { agentsPanel } from './agents.js';
import { keysPanel } from './keys.js';
import { settingsPanel } from './settings.js';
import { show } from './view.js';

const PANELS = [agentsPanel, keysPanel, settingsPanel];

let view = null;

/** What a panel may do: change something and see the page again. */
const admin = {
  /** Sends a change; then draws the page again and runs `done` with the
   * answer (or says "saved"). A refusal is explained for `where` (a
   * refused input by its name in `labels`) and marked in `form`. */
  async act(method, path, body, { done, where = 'agents', form, labels } = {}) {
    try {
      const reply = await api(method, path, body);
      await draw(view);
      if (done) done(reply);
      else toast(t('saved'));
    } catch (err) {
      const text = explain(err, where, labels);
      toast(text);
      if (form && err.field) markInvalid(form, err.field, text);
    }
  },

  /** Shows a one-time secret (a password, a key) above the panels. */
  oneTime(text) {
    document.getElementById('one-time').textContent = text;
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
    h('p', { id: 'one-time', role: 'status', class: 'card' }),
    ...PANELS.flatMap((panel, i) => panel.render(data[i], admin)));
}

export async function showAdmin() {
  view = show(t('agents'), h('p', {}, t('loading')));
  await draw(view);
}
