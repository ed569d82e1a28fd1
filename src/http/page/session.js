// Signing in, the first password change, and who is signed in.
import { api, explain, useCsrfToken } from './api.js';
import { field, h, toast } from './dom.js';
import { t, useAccount } from './i18n.js';
import { show } from './view.js';

/** The signed-in agent (`GET /api/v1/me`), or null. */
export const session = { me: null };

export function setMe(me) {
  session.me = me;
  useCsrfToken(me ? me.csrf_token : null);
  useAccount(me);
}

export function isAdmin() {
  return session.me?.role === 'admin';
}

/** Supervisors and admins hand over others' callbacks. */
export function isSupervisor() {
  return session.me?.role === 'supervisor' || isAdmin();
}

/** The sign-in form; `signedIn` runs once the session exists. */
export function showSignIn(message, signedIn) {
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'card', id: 'signin' },
    h('h2', {}, t('signin')),
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
      error.textContent = explain(err, 'signin');
    }
  });
  show(t('signin'), form);
  form.querySelector('input:not([value]), input[value=""]')?.focus();
}

/** The first password change, which the API asks for before anything else. */
export function showPasswordChange(changed) {
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', id: 'newpw' },
    h('h2', {}, t('newpw_title')),
    field('current_password', 'current_password', 'password', { autocomplete: 'current-password' }),
    field('new_password', 'new_password', 'password', { autocomplete: 'new-password', minlength: 12 }),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('save'))),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      setMe(await api('POST', '/api/v1/me/password', Object.fromEntries(new FormData(form))));
      toast(t('saved'));
      changed();
    } catch (err) {
      error.textContent = explain(err, 'password');
    }
  });
  show(t('newpw_title'), form);
  form.querySelector('input').focus();
}
