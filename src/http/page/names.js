// People by their display names: the tenant's agents, read once a
// session (`GET /api/v1/agents`) and again after an admin's change.
import { api, nameHolders } from './api.js';
import { t } from './i18n.js';
import { session } from './session.js';

let names = new Map();
let loading = null;

/** Reads the agents' names (again, with `fresh`); the agents too. */
export async function loadAgents(fresh = false) {
  if (fresh) loading = null;
  loading ??= api('GET', '/api/v1/agents').then((agents) => {
    names = new Map(agents.map((a) => [a.login, a.name]));
    return agents;
  }).catch((err) => {
    loading = null;
    throw err;
  });
  return loading;
}

/** A login's display name; an unknown login (or an API key's agent) as
 * it is. */
export function nameOf(login) {
  return names.get(login) ?? login;
}

/** Someone as a sentence names them: 「佐藤さん」, or 「あなた」 for the
 * signed-in agent. */
export function person(login) {
  return login === session.me?.login ? t('you_subject') : t('person', nameOf(login));
}

/** Whoever holds a record, as the 409 and the status say it. */
export function heldBy(login) {
  return login === session.me?.login ? t('held_by_you') : t('held_by', nameOf(login));
}

nameHolders(heldBy);
