// The JSON API, the page's only way to the server: the session cookie goes
// with every request, the CSRF token with every change.
import { known, t } from './i18n.js';

let csrfToken = null;
let unauthorized = () => {};

/** The session's CSRF token, or null when signed out. */
export function useCsrfToken(token) {
  csrfToken = token;
}

/** What to do when a signed-in request gets 401 (the session ended). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** An error answer: its status and the members of its `error`: `code`,
 * `message`, and where they apply `field` (the input refused) and `holder`
 * (the agent holding the record). */
export class ApiFailure extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code ?? null;
    this.field = error.field ?? null;
    this.holder = error.holder ?? null;
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const reply = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = reply.status === 204 ? null : await reply.json().catch(() => null);
  if (!reply.ok) {
    if (reply.status === 401 && csrfToken) unauthorized();
    throw new ApiFailure(reply.status, (data && data.error) || { message: reply.statusText });
  }
  return data;
}

/** An API error in the page's language: by its members, never by parsing
 * its message. A record someone holds names them; a refused input with a
 * label in `labels` (by field name) is named, the rule as sent; otherwise
 * by `code`, more precisely where the form says what it means
 * (`e_<where>_<code>`). Unknown codes show the server's message. */
export function explain(err, where, labels = {}) {
  if (err.code === 'conflict' && err.holder) return t('held_by', err.holder);
  if (err.field && Object.hasOwn(labels, err.field)) return t('e_field', labels[err.field], err.message);
  for (const key of [`e_${where}_${err.code}`, `e_${err.code}`]) {
    if (err.code && known(key)) return t(key);
  }
  return err.message;
}
