// cloud-sync's live fleet page: site -> node -> service -> instance, a summary per site, offline
// nodes (their instances stale) highlighted with their last-seen time. Reads the fleet API with the
// signed-in token only:
// - GET /v1/services as a blocking query (?index=&wait=): it answers when anything in the fleet
//   changes (the fleet index), or after WAIT so that "last seen" times stay current; on a change
//   every service's instances are read again (GET /v1/services/{name}; they carry site and node).
// - GET /v1/sites and /v1/sites/{site}/nodes (node:read): nodes online or not, last seen.
// - GET /v1/stats (agent:read): whether this replica is connected to the broker.
// Per site, the models and adapters its instances serve, from their metadata (MODEL_KEYS, as
// GET /v1/models groups them).
import {
  ApiError, ago, api, badge, byHealth, clock, count, eachLimited, el, fill, knownHealth, metaList, needsNote, num,
  startPage, tagList, unlessDenied, watch,
} from './common.js';

const WAIT = '10s';
// What an instance serves: registered (model, models) or read from its engine by its gateway
// (engine-models, engine-adapters: LoRA adapters).
const MODEL_KEYS = ['model', 'models', 'engine-models', 'engine-adapters'];

startPage((session) => {
  const state = { instances: [], filtered: false, nodes: null, nodesDenied: null, stats: null, statsDenied: null };
  return watch(session, {
    path: '/v1/services',
    wait: WAIT,
    who: 'cloud-sync',
    read: async (list, changed) => {
      if (changed) {
        await readFleet(state, list, session);
      }
      const stats = await unlessDenied(async () => (await api('/v1/stats', session)).body);
      state.stats = stats.value;
      state.statsDenied = stats.denied;
    },
    render: () => render(state),
  });
});

async function readFleet(state, list, session) {
  state.filtered = list.filtered;
  const instances = [];
  await eachLimited(list.body || [], 4, async (s) => {
    const answer = await api('/v1/services/' + encodeURIComponent(s.service), session);
    instances.push(...(answer.body || []));
  });
  state.instances = instances;
  const nodes = await unlessDenied(async () => {
    const sites = (await api('/v1/sites', session)).body || [];
    const all = [];
    await eachLimited(sites, 4, async (s) => {
      try {
        for (const n of (await api('/v1/sites/' + encodeURIComponent(s.site) + '/nodes', session)).body || []) {
          all.push({ ...n, site: s.site });
        }
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) { // a site gone since the list was read
          throw e;
        }
      }
    });
    return all;
  });
  state.nodes = nodes.value;
  state.nodesDenied = nodes.denied;
}

// ------------------------------------------------------------------ the tree

/** site -> node -> service -> instances, from the nodes (when readable) and the instances. */
function tree(state) {
  const sites = new Map();
  const nodeOf = (site, node) => {
    if (!sites.has(site)) {
      sites.set(site, new Map());
    }
    const nodes = sites.get(site);
    if (!nodes.has(node)) {
      nodes.set(node, { name: node, info: null, services: new Map() });
    }
    return nodes.get(node);
  };
  for (const n of state.nodes || []) {
    nodeOf(n.site, n.node).info = n;
  }
  for (const i of state.instances) {
    const node = nodeOf(i.site, i.node);
    if (!node.services.has(i.service)) {
      node.services.set(i.service, []);
    }
    node.services.get(i.service).push(i);
  }
  return sites;
}

function isStale(node) {
  if (node.info) {
    return !node.info.online;
  }
  const all = [...node.services.values()].flat();
  return all.length > 0 && all.every((i) => i.stale);
}

function summary(nodes) {
  const s = { nodes: nodes.size, offline: 0, instances: 0, passing: 0, warning: 0, critical: 0, stale: 0,
    models: new Set(), adapters: new Set() };
  for (const node of nodes.values()) {
    if (isStale(node)) {
      s.offline++;
    }
    for (const list of node.services.values()) {
      for (const i of list) {
        s.instances++;
        served(i.meta || {}, s);
        if (i.stale) {
          s.stale++;
        } else if (knownHealth(i.health)) {
          s[i.health]++;
        }
      }
    }
  }
  return s;
}

/** Adds the models and adapters an instance's metadata names to s.models and s.adapters. */
function served(meta, s) {
  for (const key of MODEL_KEYS) {
    const value = meta[key];
    if (typeof value !== 'string') {
      continue;
    }
    for (const name of key === 'model' ? [value] : value.split(',')) {
      const id = name.trim();
      if (id) {
        (key === 'engine-adapters' ? s.adapters : s.models).add(id);
      }
    }
  }
}

// ------------------------------------------------------------------ rendering

function render(state) {
  const sites = tree(state);
  let nodesTotal = 0;
  const offline = [];
  for (const [site, nodes] of sites) {
    nodesTotal += nodes.size;
    for (const node of nodes.values()) {
      if (isStale(node)) {
        offline.push({ site, node });
      }
    }
  }
  offline.sort((a, b) => lastSeen(b.node) - lastSeen(a.node));
  fill(document.getElementById('where'), '\u00B7 ' + num(sites.size) + (sites.size === 1 ? ' site' : ' sites'));
  fill(document.getElementById('summary'),
    el('div', { class: 'card', id: 'fleet-card' },
      el('div', { class: 'facts' },
        el('span', {}, count(sites.size, 'site')),
        el('span', {}, count(nodesTotal, 'node'), offline.length ? [' (', el('b', {}, num(offline.length)), ' offline)'] : ''),
        el('span', {}, count(state.instances.length, 'instance')),
        state.stats
          ? el('span', {}, 'broker ', badge(state.stats.mqttConnected ? 'connected' : 'disconnected'))
          : null),
      offline.length
        ? el('ul', { class: 'offline-list', 'aria-label': 'offline nodes' }, offline.slice(0, 10).map((o) =>
          el('li', {}, badge('stale', 'STALE'), ' ', el('b', {}, o.site + ' / ' + o.node.name), ' ', seenText(o.node))),
        offline.length > 10 ? el('li', {}, 'and ' + (offline.length - 10) + ' more') : null)
        : null),
    state.nodesDenied ? needsNote('Nodes and their last-seen times', state.nodesDenied) : null,
    state.statsDenied ? needsNote('The broker link\'s state', state.statsDenied) : null,
    state.filtered ? el('p', { class: 'note' }, 'Some services are hidden: this token may not read them.') : null);
  const names = [...sites.keys()].sort();
  fill(document.getElementById('sites'), names.length
    ? names.map((name) => siteSection(name, sites.get(name)))
    : el('p', { class: 'note', id: 'no-sites' }, 'No node has reported yet.'));
}

function siteSection(name, nodes) {
  const s = summary(nodes);
  const list = [...nodes.values()].sort((a, b) => (isStale(b) - isStale(a)) || a.name.localeCompare(b.name));
  return el('section', { class: 'site', data: { site: name } },
    el('header', {},
      el('h2', {}, 'Site ', name),
      el('div', { class: 'facts site-summary', 'aria-label': 'site summary' },
        el('span', {}, count(s.nodes, 'node')),
        s.offline ? badge('offline', s.offline + ' offline') : null,
        el('span', {}, count(s.instances, 'instance')),
        s.passing ? badge('passing', s.passing + ' passing') : null,
        s.warning ? badge('warning', s.warning + ' warning') : null,
        s.critical ? badge('critical', s.critical + ' critical') : null,
        s.stale ? badge('stale', s.stale + ' stale') : null),
      s.models.size || s.adapters.size
        ? el('div', { class: 'facts site-models', 'aria-label': 'models and adapters' },
          s.models.size ? el('span', {}, 'models: ', el('span', { class: 'mono' }, [...s.models].sort().join(', '))) : null,
          s.adapters.size
            ? el('span', {}, 'adapters: ', el('span', { class: 'mono' }, [...s.adapters].sort().join(', ')))
            : null)
        : null),
    el('div', { class: 'cards' }, list.map((node) => nodeCard(name, node))));
}

function nodeCard(site, node) {
  const stale = isStale(node);
  const info = node.info;
  const services = [...node.services.keys()].sort();
  const seen = lastSeen(node) ? el('span', { class: 'last-seen' }, seenText(node)) : null;
  return el('article', { class: 'card node' + (stale ? ' is-stale' : ''), data: { node: site + '/' + node.name, stale: stale } },
    el('header', {},
      el('h3', {}, node.name),
      info ? badge(info.online ? 'online' : 'offline', null, true) : null,
      stale ? badge('stale', 'STALE', true) : null),
    el('div', { class: 'facts' },
      seen,
      info && !info.online && info.offlineSince ? el('span', {}, 'offline since ' + clock(info.offlineSince)) : null,
      info && info.address ? el('span', { class: 'mono' }, info.address) : null,
      el('span', {}, count([...node.services.values()].reduce((n, l) => n + l.length, 0), 'instance'))),
    services.length
      ? services.map((svc) => el('div', { class: 'service-group', data: { service: svc } },
        el('h4', {}, svc),
        el('div', { class: 'instances' }, node.services.get(svc).slice().sort(byHealth).map(instanceCard))))
      : el('p', { class: 'note' }, 'No instances (or none this token may read).'));
}

/** When the node was last heard from: its own report, else its instances' newest (0: unknown). */
function lastSeen(node) {
  if (node.info && node.info.lastSeen) {
    return node.info.lastSeen;
  }
  return Math.max(0, ...[...node.services.values()].flat().map((i) => i.lastSeen || 0));
}

function seenText(node) {
  const t = lastSeen(node);
  return t ? 'last seen ' + clock(t) + ' (' + ago(t) + ')' : 'never seen';
}

function instanceCard(i) {
  const health = String(i.health);
  return el('div', {
    class: 'instance health-' + (knownHealth(health) ? health : 'unknown') + (i.stale ? ' is-stale' : ''),
    data: { instance: i.id, health, stale: Boolean(i.stale) },
  },
  el('div', { class: 'instance-head' },
    badge(health, null, true),
    i.stale ? badge('stale', 'STALE') : null,
    el('span', { class: 'id' }, i.id)),
  el('div', { class: 'addr mono' }, i.address + ':' + i.port,
    i.stale && i.lastSeen ? ' \u00B7 last seen ' + clock(i.lastSeen) : ''),
  tagList(i.tags),
  metaList(i.meta));
}
