// The values the API defines (statuses, outcomes, roles…), read from its
// OpenAPI document once per page load, so the page keeps no copy: a new
// value appears with its label from strings.js, or as sent.
import { api } from './api.js';

/** The document's enums by schema name, e.g. `enums.Outcome`; filled by
 * `loadEnums` before any view that needs them is shown. */
export const enums = {};

let loading = null;

export function loadEnums() {
  loading ??= api('GET', '/api/v1/openapi.json').then((doc) => {
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      if (Array.isArray(schema.enum)) enums[name] = schema.enum;
    }
  }).catch((err) => {
    loading = null;
    throw err;
  });
  return loading;
}
