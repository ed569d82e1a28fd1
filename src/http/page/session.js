// Signing in, the first password change, and who is signed in.
import { api, explain, useCsrfToken } from './api.js';
import { field, h, markInvalid, toast } from './dom.js';
import { t, useAccount } from './i18n.js';
import { show } from './view.js';

/** The signed-in agent (`GET /api/v1/me`), or null. */
export const session = { me: null };

// Set while this browser has a session: a page loaded without it shows
// the sign-in form at once, with no request that can only fail.
const SIGNED_IN = 'afureko.signed-in';

export function setMe(me) {
  session.me = me;
  useCsrfToken(me ? me.csrf_token : null);
  useAccount(me);
  if (me) localStorage.setItem(SIGNED_IN, '1');
  else localStorage.removeItem(SIGNED_IN);
}

/** Whether this browser may have a session to ask `GET /api/v1/me` for. */
export function maybeSignedIn() {
  return localStorage.getItem(SIGNED_IN) === '1';
}

export function isAdmin() {
  return session.me?.role === 'admin';
}

/** Supervisors and admins hand over others' callbacks. */
export function isSupervisor() {
  return session.me?.role === 'supervisor' || isAdmin();
}

/** The sign-in form; `signedIn` runs once the session exists. `notice` is
 * what to say first: `{ text, error }` (a session that ended is an error,
 * signing out is not). */
export function showSignIn(notice, signedIn) {
  const said = notice
    ? h('p', { class: notice.error ? 'error' : 'notice', role: notice.error ? 'alert' : 'status', id: 'signin-notice' }, notice.text)
    : null;
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const form = h('form', { class: 'card', id: 'signin' },
    h('h2', {}, t('signin')),
    said,
    field('tenant', 'tenant', 'text', { autocomplete: 'organization', value: localStorage.getItem('afureko.tenant') || '' }),
    field('login', 'login', 'text', { autocomplete: 'username' }),
    field('password', 'password', 'password', { autocomplete: 'current-password' }),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('signin'))),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      setMe(await api('POST', '/api/v1/sessions', data));
      localStorage.setItem('afureko.tenant', data.tenant);
      signedIn();
    } catch (err) {
      said?.remove();
      error.textContent = explain(err, 'signin');
    }
  });
  show(t('signin'), form);
  form.querySelector('input:not([value]), input[value=""]')?.focus();
}

/** The first password change, which the API asks for before anything
 * else: every address leads back here until it is done. */
export function showPasswordChange(changed) {
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', id: 'newpw' },
    h('h2', {}, t('newpw_title')),
    h('p', { class: 'muted' }, t('newpw_why')),
    field('current_password', 'current_password', 'password', { autocomplete: 'current-password' }),
    field('new_password', 'new_password', 'password', { autocomplete: 'new-password', minlength: 12 }),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('save'))),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      setMe(await api('POST', '/api/v1/me/password', Object.fromEntries(new FormData(form))));
      await changed();
      toast(t('password_changed'));
    } catch (err) {
      const text = explain(err, 'password');
      if (!err.field || !markInvalid(form, err.field, text)) error.textContent = text;
    }
  });
  show(t('newpw_title'), form);
  form.querySelector('input').focus();
}
