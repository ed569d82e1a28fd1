// The agents' page: the one script index.html loads. It talks only to the
// JSON API (api.js). Each view is a module; VIEWS maps addresses to them
// and puts those that have one in the header.
import { startAlerts, stopAlerts } from './alerts.js';
import { api, explain, onUnauthorized } from './api.js';
import { h } from './dom.js';
import { lang, switchLang, t } from './i18n.js';
import { showAdmin } from './admin.js';
import { showList } from './list.js';
import { showRecord } from './record.js';
import { showStats } from './stats.js';
import { loadEnums } from './schema.js';
import { isAdmin, isSupervisor, maybeSignedIn, session, setMe, showPasswordChange, showSignIn } from './session.js';
import { installShortcuts, showHelp } from './shortcuts.js';
import { leave, show } from './view.js';

// Address pattern, who may see it, the view, and the header link if any.
const VIEWS = [
  { pattern: /^#\/cb\/([\w-]+)$/, allowed: () => true, show: showRecord },
  { pattern: /^#\/agents$/, allowed: isAdmin, show: showAdmin, link: { id: 'admin', href: '#/agents', text: 'agents' } },
  { pattern: /^#\/stats(?:\/(\w+))?$/, allowed: isSupervisor, show: showStats, link: { id: 'stats', href: '#/stats/week', text: 'sl_title' } },
  { pattern: /^#\/list\/(\w+)$/, allowed: () => true, show: showList },
];

function renderHeader() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  const switchTo = lang() === 'ja' ? 'en' : 'ja';
  const button = document.getElementById('lang');
  button.textContent = switchTo === 'en' ? 'English' : '日本語';
  button.lang = switchTo;
  document.getElementById('signout').hidden = !session.me;
  const working = session.me && !session.me.must_change_password;
  document.getElementById('help').hidden = !working;
  document.getElementById('help').setAttribute('aria-label', t('keys_title'));
  document.getElementById('nav').replaceChildren(...VIEWS
    .filter((v) => v.link && working && v.allowed())
    .map((v) => h('a', { id: v.link.id, href: v.link.href }, t(v.link.text))));
  const who = document.getElementById('who');
  who.textContent = session.me ? session.me.name : '';
  who.title = session.me ? `${session.me.name} (${session.me.login})` : '';
}

// Every address leads to a view: the sign-in form while signed out, the
// password change while one is due, else the view it names.
function route() {
  leave();
  if (!session.me) return showSignIn(undefined, start);
  if (session.me.must_change_password) return showPasswordChange(start);
  for (const view of VIEWS) {
    const match = view.pattern.exec(location.hash);
    if (match && view.allowed()) return view.show(match[1]);
  }
  return showList('pending');
}

async function start() {
  renderHeader();
  if (session.me.must_change_password) return showPasswordChange(start);
  try {
    await loadEnums();
  } catch (err) {
    show('afureko', h('p', { class: 'error' }, explain(err)));
    return undefined;
  }
  startAlerts();
  return route();
}

function signedOut(notice) {
  leave();
  stopAlerts();
  setMe(null);
  renderHeader();
  history.replaceState(null, '', '#/');
  showSignIn(notice, start);
}

onUnauthorized(() => signedOut({ text: t('session_over'), error: true }));

document.getElementById('lang').addEventListener('click', () => {
  switchLang();
  renderHeader();
  route();
});
document.getElementById('signout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/sessions/current'); } catch { /* signed out either way */ }
  signedOut({ text: t('signed_out'), error: false });
});
document.getElementById('help').addEventListener('click', showHelp);
window.addEventListener('hashchange', route);
installShortcuts();

// Without a session in this browser the sign-in form comes at once: no
// request that could only answer 401.
if (maybeSignedIn()) {
  try {
    setMe(await api('GET', '/api/v1/me'));
  } catch {
    setMe(null);
  }
}
if (session.me) {
  start();
} else {
  renderHeader();
  showSignIn(undefined, start);
}
