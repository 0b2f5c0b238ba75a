// The gateway's live status page: services and instances with health, checks and their output,
// tags and metadata; routes with their balancers and canary weights; the proxy's traffic per
// service; the cloud sync link. Reads the native API with the signed-in token only:
// - GET /v1/services as a blocking query (?index=&wait=): it answers when anything in the registry
//   changes, or after WAIT (2 s) with fresh traffic counters; the services whose index moved are read
//   again (GET /v1/services/{name}).
// - GET /v1/routes (operator:read) when the registry changed (stored routes are registry entries).
// - GET /v1/status (agent:read): node, proxy counters, sync link.
import {
  api, badge, byHealth, count, eachLimited, el, fill, knownHealth, metaList, needsNote, num, startPage, tagList,
  unlessDenied, watch,
} from './common.js';

const WAIT = '2s';

startPage((session) => {
  const state = {
    services: new Map(), // name -> {summary, detail, rate}
    filtered: false,
    routes: null,
    routesDenied: null,
    status: null,
    statusDenied: null,
    polledAt: 0,
  };
  return watch(session, {
    path: '/v1/services',
    wait: WAIT,
    who: 'The gateway',
    read: async (list, changed) => {
      await readServices(state, list, session);
      // Routes are registry entries: read again when the registry changed (or went back: a gateway
      // rebuilt from scratch), or while never read.
      if (changed || state.routes === null && state.routesDenied === null) {
        const routes = await unlessDenied(async () => (await api('/v1/routes', session)).body.routes || []);
        state.routes = routes.value;
        state.routesDenied = routes.denied;
      }
      const status = await unlessDenied(async () => (await api('/v1/status', session)).body);
      state.status = status.value;
      state.statusDenied = status.denied;
    },
    render: () => render(state),
  });
});

async function readServices(state, list, session) {
  const now = Date.now();
  const seconds = state.polledAt ? (now - state.polledAt) / 1000 : 0;
  state.polledAt = now;
  state.filtered = list.filtered;
  const present = new Set();
  const stale = [];
  for (const summary of list.body.services || []) {
    present.add(summary.service);
    const known = state.services.get(summary.service);
    let rate = null;
    if (known && known.summary.proxy && summary.proxy && seconds > 0) {
      rate = Math.max(0, (summary.proxy.requests - known.summary.proxy.requests) / seconds);
    }
    const entry = { summary, detail: known ? known.detail : null, rate };
    if (!known || known.summary.index !== summary.index || !known.detail) {
      stale.push(entry);
    }
    state.services.set(summary.service, entry);
  }
  for (const name of [...state.services.keys()]) {
    if (!present.has(name)) {
      state.services.delete(name);
    }
  }
  await eachLimited(stale, 4, async (entry) => {
    entry.detail = (await api('/v1/services/' + encodeURIComponent(entry.summary.service), session)).body;
  });
}

// ------------------------------------------------------------------ rendering

function render(state) {
  renderNode(state);
  renderServices(state);
  renderRoutes(state);
}

function renderNode(state) {
  const s = state.status;
  fill(document.getElementById('where'), s ? s.node + ' \u00B7 site ' + s.site : '');
  if (!s) {
    fill(document.getElementById('node'), needsNote('The node\'s status, proxy counters and sync link', state.statusDenied));
    return;
  }
  const sync = s.sync;
  const proxy = s.proxy || {};
  fill(document.getElementById('node'),
    el('div', { class: 'card', id: 'node-card' },
      el('div', { class: 'facts' },
        el('span', {}, 'node ', el('b', {}, s.node)),
        el('span', {}, 'site ', el('b', {}, s.site)),
        el('span', {}, count(s.services, 'service')),
        el('span', {}, count(s.instances, 'instance')),
        el('span', {}, 'index ', el('b', {}, num(s.index))),
        s.errors ? el('span', {}, count(s.errors, 'background error')) : null),
      el('div', { class: 'facts', id: 'sync' },
        el('span', {}, 'Cloud sync: '),
        sync
          ? [badge(sync.connected ? 'connected' : 'disconnected', null, true),
            el('span', {}, count(sync.pending, 'change'), ' waiting to be sent'),
            el('span', {}, 'acknowledged up to index ', el('b', {}, num(sync['acknowledged-index'])))]
          : el('span', { class: 'note' }, 'not configured: this gateway runs on its own')),
      el('div', { class: 'facts' },
        el('span', {}, 'Proxy: ', count(proxy['upstream-failures'], 'upstream failure')),
        el('span', {}, count(proxy.retries, 'retry', 'retries')),
        el('span', {}, count(proxy.ejections, 'ejection')),
        el('span', {}, count(proxy['upstream-connections-idle'], 'idle connection')))));
}

function renderServices(state) {
  const cards = [];
  for (const [name, entry] of [...state.services.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    cards.push(serviceCard(name, entry));
  }
  fill(document.getElementById('services'),
    state.filtered ? el('p', { class: 'note' }, 'Some services are hidden: this token may not read them.') : null,
    cards.length ? el('div', { class: 'cards' }, cards) : el('p', { class: 'note', id: 'no-services' }, 'No services registered.'));
}

function serviceCard(name, entry) {
  const s = entry.summary;
  const counts = [];
  for (const health of ['critical', 'warning', 'passing']) {
    if (s[health]) {
      counts.push(badge(health, s[health] + ' ' + health));
    }
  }
  if (s.maintenance) {
    counts.push(badge('maintenance', s.maintenance + ' maintenance'));
  }
  const instances = (entry.detail && entry.detail.instances || []).slice().sort(byHealth);
  return el('article', { class: 'card service', data: { service: name } },
    el('header', {}, el('h3', {}, name), el('div', { class: 'counts' }, counts)),
    traffic(s.proxy, entry.rate),
    el('div', { class: 'instances' }, instances.map(instanceCard)));
}

function traffic(p, rate) {
  if (!p) {
    return null;
  }
  return el('div', { class: 'facts traffic', 'aria-label': 'proxy traffic' },
    el('span', {}, 'Proxy: ', el('b', { class: 'requests' }, num(p.requests)), p.requests === 1 ? ' request' : ' requests'),
    rate === null ? null : el('span', {}, el('b', {}, rate.toFixed(1)), '/s'),
    el('span', {}, el('b', {}, num(p.failures)), ' failed'),
    p.unavailable ? el('span', {}, el('b', {}, num(p.unavailable)), ' unavailable (503)') : null,
    el('span', {}, el('b', {}, num(p['in-flight'])), ' in flight'));
}

function instanceCard(i) {
  const health = String(i.health);
  return el('div', { class: 'instance health-' + (knownHealth(health) ? health : 'unknown'), data: { instance: i.id, health } },
    el('div', { class: 'instance-head' },
      badge(health, null, true),
      i.maintenance ? badge('maintenance', null, true) : null,
      el('span', { class: 'id' }, i.id)),
    el('div', { class: 'addr mono' }, i.address + ':' + i.port,
      ' \u00B7 ', i.routable ? 'routable' : 'not routable',
      i.maintenance && i.maintenanceReason ? ' \u00B7 maintenance: ' + i.maintenanceReason : ''),
    tagList(i.tags),
    metaList(i.meta),
    Array.isArray(i.checks) && i.checks.length
      ? el('ul', { class: 'checks', 'aria-label': 'checks' }, i.checks.map(check))
      : null);
}

function check(c) {
  return el('li', { class: 'check', data: { check: c.id, status: c.status } },
    el('div', { class: 'check-head' },
      badge(String(c.status)),
      el('span', {}, c.name || c.id),
      el('span', { class: 'note' }, '(' + c.kind + ')')),
    c.output ? el('pre', { class: 'output' }, c.output) : null);
}

function renderRoutes(state) {
  const node = document.getElementById('routes');
  if (state.routesDenied) {
    fill(node, needsNote('Routes', state.routesDenied));
    return;
  }
  const routes = state.routes || [];
  fill(node, routes.length
    ? el('div', { class: 'cards' }, routes.map(routeCard))
    : el('p', { class: 'note' }, 'No routes: every service is reached at /svc/{service}/...'));
}

function routeCard(r) {
  const match = r.match || {};
  const policy = r.policy || {};
  const subsets = Array.isArray(policy.subsets) ? policy.subsets : [];
  const total = subsets.reduce((sum, s) => sum + (Number(s.weight) || 0), 0);
  const headers = match.headers ? Object.keys(match.headers).sort().map((k) => k + ': ' + match.headers[k]) : [];
  let weights = null;
  if (subsets.length) {
    const bar = el('div', { class: 'weights', role: 'img', 'aria-label': 'weights' });
    subsets.forEach((s, n) => {
      const part = el('span', { class: 'part-' + (n % 4), title: s.name });
      part.style.width = (total ? (100 * s.weight) / total : 0) + '%'; // CSSOM, not an inline style attribute
      bar.appendChild(part);
    });
    weights = [bar, el('ul', { class: 'subsets' }, subsets.map((s, n) =>
      el('li', { data: { subset: s.name } },
        el('span', { class: 'swatch part-' + (n % 4), 'aria-hidden': 'true' }),
        el('b', {}, s.name), ' ', el('b', { class: 'weight' }, percent(s.weight, total)), ' (weight ' + s.weight + ')',
        s.tags && s.tags.length ? ' \u00B7 tags ' + s.tags.join(', ') : '',
        s.meta ? ' \u00B7 meta ' + Object.keys(s.meta).sort().map((k) => k + '=' + s.meta[k]).join(', ') : '')))];
  }
  return el('article', { class: 'card route', data: { route: r.name } },
    el('header', {}, el('h3', {}, r.name), el('span', { class: 'note' }, r.source === 'config' ? 'from the configuration' : 'stored')),
    el('div', { class: 'facts' },
      el('span', {}, '\u2192 service ', el('b', {}, r.service)),
      el('span', { class: 'balancer' }, 'balancer ', el('b', {}, policy.balancer || 'default (least-request for inference, else round-robin)'))),
    el('div', { class: 'facts mono' },
      match.host ? el('span', {}, 'host ' + match.host) : null,
      el('span', {}, 'path ' + (match['path-prefix'] || '/') + (r['strip-prefix'] ? ' (stripped)' : '')),
      headers.length ? el('span', {}, 'headers ' + headers.join(', ')) : null),
    policy.tags && policy.tags.length ? el('div', { class: 'facts' }, 'instances tagged ' + policy.tags.join(', ')) : null,
    weights,
    policy['require-token'] ? el('p', { class: 'note' }, 'requires a token with read on ' + r.service) : null);
}

function percent(weight, total) {
  if (!total) {
    return '0%';
  }
  const p = (100 * weight) / total;
  return (Number.isInteger(p) ? p : p.toFixed(1)) + '%';
}
