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
 * its message, which is English. A record someone holds names them. A
 * refused input says so by its own words where the form has them
 * (`e_<where>_<field>`), else by its label in `labels` (by field name) and
 * the rule in `rules` where known. Otherwise by `code`, more precisely
 * where the form says what it means (`e_<where>_<code>`); an unknown code
 * says that something went wrong, with its code. */
export function explain(err, where, labels = {}, rules = {}) {
  if (err.code === 'conflict' && err.holder) return holderText(err.holder);
  if (err.field) {
    if (known(`e_${where}_${err.field}`)) return t(`e_${where}_${err.field}`);
    if (Object.hasOwn(labels, err.field)) return t('e_field', labels[err.field], rules[err.field] ?? '').trim();
  }
  for (const key of [`e_${where}_${err.code}`, `e_${err.code}`]) {
    if (err.code && known(key)) return t(key);
  }
  return t('e_unknown', err.code ?? err.status);
}

let holderText = (login) => t('held_by', login);

/** How a record's holder is named in a 409 (by display name, once the
 * page knows them). */
export function nameHolders(fn) {
  holderText = fn;
}
