// Edgegate status pages: what the gateway's and cloud-sync's pages share (sign-in, the API client,
// the live watch, page building, health badges, times).
//
// Rules every page keeps:
// - The token lives in sessionStorage only (this browser tab; gone when it closes). It is sent as the
//   X-Consul-Token header, never put in a URL, never written to the console.
// - Everything the APIs answer is put on the page as text (textContent, text nodes, dataset), never
//   parsed as HTML: service names, tags, metadata and check outputs are whatever a client registered.
// - No inline script or style anywhere (the page's Content-Security-Policy forbids both).

const TOKEN_KEY = 'edgegate-token';

/** The signed-in token, or null. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * Builds an element. attrs: 'class', 'text', 'data' (an object put in dataset), or an attribute
 * name written by this code (never one taken from data); a null, undefined or false value is
 * left out. Children: nodes, strings (as text), arrays of them; null and undefined are skipped.
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === 'class') {
      node.className = value;
    } else if (key === 'text') {
      node.textContent = String(value);
    } else if (key === 'data') {
      for (const [name, v] of Object.entries(value)) {
        node.dataset[name] = String(v);
      }
    } else if (key.toLowerCase().startsWith('on') || key === 'style') {
      throw new Error('el: ' + key + ' is not set this way');
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(node, child);
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }
}

/** Replaces an element's children with these (same rules as el's children). */
export function fill(node, ...children) {
  const fragment = document.createDocumentFragment();
  append(fragment, children);
  node.replaceChildren(fragment);
}

// ------------------------------------------------------------------ API client

/** An answer other than 2xx. needs: the right a 403 names ("operator:read"); null otherwise. */
export class ApiError extends Error {
  constructor(status, body, path) {
    const message = body && typeof body.error === 'string' ? body.error : 'HTTP ' + status;
    super(message);
    this.status = status;
    this.path = path;
    this.needs = body && typeof body.needs === 'string' ? body.needs : null;
  }

  /** A 403 for a token nobody issued (or one revoked since): signing in again is the way on. */
  get tokenUnknown() {
    return this.status === 403 && this.needs === null;
  }
}

/**
 * GET path (same origin) with the token. Answers {body, index, filtered}: the JSON body, the
 * X-Edgegate-Index (or X-Consul-Index) header as a number, and whether the token's rights left
 * something out of a list. Throws ApiError for a non-2xx answer, and the fetch's error when the
 * service cannot be reached or the session ended (its signal) or timeoutMs passed.
 */
export async function api(path, session, timeoutMs = 15000) {
  const headers = { 'Accept': 'application/json' };
  const t = token();
  if (t) {
    headers['X-Consul-Token'] = t;
  }
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (session) {
    signals.push(session.signal);
  }
  const res = await fetch(path, {
    headers,
    signal: AbortSignal.any(signals),
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error',
    referrerPolicy: 'no-referrer',
  });
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (e) {
    body = { error: text.slice(0, 300) };
  }
  if (!res.ok) {
    throw new ApiError(res.status, body, path);
  }
  const index = Number(res.headers.get('X-Edgegate-Index') || res.headers.get('X-Consul-Index') || 0);
  const filtered = res.headers.get('X-Consul-Results-Filtered-By-ACLs') === 'true';
  return { body, index, filtered };
}

/** Runs fn over items with at most `limit` at once (browsers hold few connections per host). */
export async function eachLimited(items, limit, fn) {
  const queue = items.slice();
  const workers = [];
  for (let i = 0; i < Math.min(limit, queue.length); i++) {
    workers.push((async () => {
      while (queue.length) {
        await fn(queue.shift());
      }
    })());
  }
  await Promise.all(workers);
}

/** Waits ms, or less when the session ends. */
export function sleep(ms, session) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (session) {
      session.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    }
  });
}

/**
 * What a part of the page reads with a right the token may lack: {value} or, on a 403 naming that
 * right, {denied: the ApiError} (the page shows needsNote in the part's place). Any other error,
 * a token the service does not know included, is thrown.
 */
export async function unlessDenied(read) {
  try {
    return { value: await read(), denied: null };
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 403 && !e.tokenUnknown)) {
      throw e;
    }
    return { value: null, denied: e };
  }
}

// ------------------------------------------------------------------ live watch

/**
 * Keeps a page live until its session ends, with one blocking query on path (a list whose answer
 * carries the service's index): the first read answers at once, each next one (?index=&wait=)
 * when the index moves past the last one seen, or after wait. Each answer goes to
 * read(list, changed), which reads whatever else the page shows (changed: the first read since
 * sign-in or since an error, or the index moved); then render() draws the page and the link is
 * shown live. On an error the link is shown lost and, after a backoff (1 s, doubling, at most
 * 15 s), the next read starts over at once. A token the service no longer knows signs the page
 * out ("{who} no longer knows this token").
 */
export async function watch(session, { path, wait, who, read, render }) {
  let index = 0;
  let first = true;
  let failures = 0;
  while (session.active) {
    try {
      const query = first ? '' : '?index=' + index + '&wait=' + wait;
      const list = await api(path + query, session, 60000);
      await read(list, first || list.index !== index);
      index = list.index;
      first = false;
      failures = 0;
      if (session.active) {
        render();
        connection(true);
      }
    } catch (e) {
      if (!session.active) {
        return;
      }
      if (e instanceof ApiError && e.tokenUnknown) {
        session.signOut(who + ' no longer knows this token: ' + e.message);
        return;
      }
      connection(false, e);
      failures++;
      first = true;
      await sleep(Math.min(15000, 500 * 2 ** Math.min(failures, 5)), session);
    }
  }
}

// ------------------------------------------------------------------ sign-in

/**
 * Wires the page's sign-in form (#signin, #signin-form, #token, #signin-error), its app section
 * (#app) and the header's #who, and calls onSignedIn(session, self) once a token is accepted
 * (GET /v1/acl/token/self answers for it). A session ends on sign-out or when the service says
 * the token is unknown; session.active turns false and session.signal aborts its requests.
 */
export function startPage(onSignedIn) {
  const form = document.getElementById('signin-form');
  const input = document.getElementById('token');
  const error = document.getElementById('signin-error');
  let session = null;

  function showSignIn(message) {
    document.getElementById('app').hidden = true;
    document.getElementById('signin').hidden = false;
    fill(document.getElementById('who'));
    error.textContent = message || '';
    input.focus();
  }

  function end(message) {
    if (session) {
      session.active = false;
      session.controller.abort();
      session = null;
    }
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(message);
  }

  async function begin() {
    const controller = new AbortController();
    const s = { active: true, controller, signal: controller.signal, signOut: end };
    session = s;
    let self;
    try {
      self = (await api('/v1/acl/token/self', s)).body || {};
    } catch (e) {
      if (session !== s) {
        return;
      }
      session = null;
      if (e instanceof ApiError && e.status === 403) {
        sessionStorage.removeItem(TOKEN_KEY);
        showSignIn('This token is not known here: ' + e.message);
      } else {
        showSignIn('Cannot reach the service: ' + (e && e.message ? e.message : e));
      }
      return;
    }
    document.getElementById('signin').hidden = true;
    document.getElementById('app').hidden = false;
    const policies = Array.isArray(self.Policies) ? self.Policies.map((p) => p && p.Name).filter(Boolean) : [];
    fill(document.getElementById('who'),
      el('span', { class: 'token-who', title: 'accessor ' + (self.AccessorID || '') },
        self.Description ? self.Description : 'token ' + String(self.AccessorID || '').slice(0, 8),
        policies.length ? ' (' + policies.join(', ') + ')' : ''),
      el('button', { type: 'button', id: 'signout' }, 'Sign out'));
    document.getElementById('signout').addEventListener('click', () => end(''));
    onSignedIn(s);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    input.value = '';
    if (!value) {
      error.textContent = 'Paste a token first.';
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    error.textContent = '';
    begin();
  });

  if (token()) {
    begin();
  } else {
    showSignIn('');
  }
}

// ------------------------------------------------------------------ showing things

const BADGES = {
  passing: ['\u2714', 'PASSING'],
  warning: ['!', 'WARNING'],
  critical: ['\u2716', 'CRITICAL'],
  maintenance: ['\u23F8', 'MAINTENANCE'],
  stale: ['?', 'STALE'],
  online: ['\u2714', 'ONLINE'],
  offline: ['\u2716', 'OFFLINE'],
  connected: ['\u2714', 'CONNECTED'],
  disconnected: ['\u2716', 'DISCONNECTED'],
};

const SEVERITY = { critical: 0, warning: 1, passing: 2 };

/** Whether health is one the pages count and colour: passing, warning or critical. */
export function knownHealth(health) {
  return Object.hasOwn(SEVERITY, health);
}

/** Orders instances most critical first (an unknown health before critical), then by id. */
export function byHealth(a, b) {
  return severity(a.health) - severity(b.health) || String(a.id).localeCompare(String(b.id));
}

function severity(health) {
  return knownHealth(health) ? SEVERITY[health] : -1;
}

/**
 * A badge: colour, symbol and word together. kind: a health or state (an unknown one is shown
 * grey with its own name as text); text: the word to show instead of the kind's (a count).
 */
export function badge(kind, text, big) {
  const known = Object.hasOwn(BADGES, kind);
  const [icon, word] = known ? BADGES[kind] : ['?', String(kind).toUpperCase()];
  return el('span', { class: 'badge badge-' + (known ? kind : 'unknown') + (big ? ' big' : ''), data: { state: known ? kind : 'unknown' } },
    el('span', { class: 'icon', 'aria-hidden': 'true' }, icon),
    el('span', { class: 'word' }, text === undefined || text === null ? word : text));
}

/** "this token lacks node:read": shown where a part of the page needs a right the token lacks. */
export function needsNote(what, error) {
  return el('p', { class: 'needs', role: 'note', data: { needs: error.needs || '' } },
    what + ' needs ', el('code', {}, error.needs || 'another right'), ': this token lacks it. ',
    el('span', { class: 'hint' }, '(' + error.message + ')'));
}

/** Shows the link's state in #conn: live, or lost with why (the data on screen is then older). */
export function connection(ok, error) {
  const node = document.getElementById('conn');
  // Announced (role alert) only when the link is lost: not every few seconds while it is live.
  if (ok) {
    node.removeAttribute('role');
    node.className = 'conn live';
    node.textContent = '\u25CF Live: updated ' + clock(Date.now());
    document.body.classList.remove('offline');
  } else {
    node.setAttribute('role', 'alert');
    node.className = 'conn lost';
    node.textContent = '\u2716 Connection lost (' + (error && error.message ? error.message : error)
      + '): retrying; what is shown may be out of date.';
    document.body.classList.add('offline');
  }
}

const NUMBER = new Intl.NumberFormat('en-US');

/** 12,345 */
export function num(n) {
  return NUMBER.format(Number(n) || 0);
}

/** A count with its noun: [<b>1</b>, " node"], [<b>2</b>, " nodes"] (many: the plural when not noun + "s"). */
export function count(n, noun, many) {
  return [el('b', {}, num(n)), ' ' + (Number(n) === 1 ? noun : many || noun + 's')];
}

/** Local time of epoch millis: 14:03:07, with the date when not today. */
export function clock(millis) {
  const d = new Date(millis);
  const time = d.toLocaleTimeString('en-GB', { hour12: false });
  return d.toDateString() === new Date().toDateString() ? time : d.toISOString().slice(0, 10) + ' ' + time;
}

/** "12 s ago", "4 min ago", "3 h ago", "2 d ago". */
export function ago(millis) {
  const s = Math.max(0, Math.round((Date.now() - millis) / 1000));
  if (s < 90) {
    return s + ' s ago';
  }
  if (s < 90 * 60) {
    return Math.round(s / 60) + ' min ago';
  }
  if (s < 36 * 3600) {
    return Math.round(s / 3600) + ' h ago';
  }
  return Math.round(s / 86400) + ' d ago';
}

/** Tags as chips. */
export function tagList(tags) {
  if (!Array.isArray(tags) || tags.length === 0) {
    return null;
  }
  return el('ul', { class: 'tags', 'aria-label': 'tags' }, tags.map((t) => el('li', { class: 'tag' }, t)));
}

/** Metadata as a definition list, sorted by key. */
export function metaList(meta) {
  const keys = meta && typeof meta === 'object' ? Object.keys(meta).sort() : [];
  if (keys.length === 0) {
    return null;
  }
  return el('dl', { class: 'meta', 'aria-label': 'metadata' }, keys.map((k) => [el('dt', {}, k), el('dd', {}, meta[k])]));
}
