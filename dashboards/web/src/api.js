// The escucha HTTP API, with the bearer token kept in sessionStorage.

const TOKEN_KEY = 'escucha.token';

export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
  /** The endpoint does not exist in this escucha version (or the object is not there). */
  get missing() { return this.status === 404; }
}

export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { return ''; }
}
export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* storage disabled */ }
}

function headers(tok) {
  const h = { Accept: 'application/json' };
  const t = tok === undefined ? token() : tok;
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

export function url(path, params) {
  const q = params ? new URLSearchParams(params).toString() : '';
  return `/api/v1/${path}${q ? `?${q}` : ''}`;
}

/** GET /api/v1/PATH?PARAMS as JSON; throws ApiError on a non-2xx answer or a network failure. */
export async function get(path, params, tok) {
  let r;
  try {
    r = await fetch(url(path, params), { headers: headers(tok) });
  } catch (e) {
    throw new ApiError(0, 'network', `network error: ${e.message}`, path);
  }
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) {
    let msg = (body && body.message) || r.statusText || `HTTP ${r.status}`;
    if (body && Array.isArray(body.details) && body.details.length) {
      msg += ': ' + body.details.map((d) => `${d.param}: ${d.message}`).join('; ');
    }
    throw new ApiError(r.status, (body && body.error) || 'http', msg, path);
  }
  return body;
}

/** Downloads PATH?PARAMS (a CSV) with the token and saves it as FILENAME. */
export async function download(path, params, filename) {
  let r;
  try {
    r = await fetch(url(path, params), { headers: { ...headers(), Accept: 'text/csv' } });
  } catch (e) {
    throw new ApiError(0, 'network', `network error: ${e.message}`, path);
  }
  if (!r.ok) {
    let body = null;
    try { body = await r.json(); } catch (_) { body = null; }
    throw new ApiError(r.status, (body && body.error) || 'http', (body && body.message) || r.statusText, path);
  }
  const blob = await r.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
