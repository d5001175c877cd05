/*
 * gridmap: the field staff's tablet page (/field, web_map/pages/field.py).
 *
 * Offline first. Every edit is stored in IndexedDB before anything is sent: a record with a
 * generated id (sent as Idempotency-Key, the same on every resend), the version it was based
 * on (If-Match) and only the fields changed. A sender sends the user's edits in order when
 * online, retrying with backoff; the server applies a resent edit once. A 409 puts the edit
 * aside as a conflict and opens the conflict screen: per field the value it was based on, the
 * current one and the user's; what the user keeps is sent as a new edit on the current
 * version. The last building data is kept in IndexedDB too (and by the service worker,
 * field_sw.js), so the page opens and records offline.
 *
 * Events (上报事件) at a building are queued the same way: a record of kind 'event' holds the
 * report (the building's code and a point inside it, the category, the description) and is
 * sent in order as POST /api/events. That POST has no idempotency key, so exactly once is
 * kept here: a report is marked as tried before it is sent, and a tried report whose answer
 * never came is looked up (this user's event of that kind, description and point) before it
 * is sent again. A 409 (an open event of the same kind nearby) puts it aside as 疑似重复 with
 * the events nearby; the user sends it anyway (allow_duplicate) or withdraws it.
 *
 * The strings shown come from the page's configuration (labels); none are written here.
 * window.GridField exposes the state for the tests.
 */
(function () {
  'use strict';

  const CONFIG = JSON.parse(document.getElementById('gm-field-config').textContent);
  const T = CONFIG.labels;
  const USER = CONFIG.user.username;
  const ROOT = CONFIG.root;
  const FIELDS = CONFIG.fields;
  const LABEL = {};
  FIELDS.forEach((f) => {
    LABEL[f.name] = f.label;
  });
  const WAITING = ['saved', 'pending'];
  const MAX_BACKOFF = 60000;
  const DB_NAME = 'gridmap-field';
  const DB_VERSION = 1;

  const state = {
    ready: false,
    source: '',
    online: navigator.onLine,
    grids: CONFIG.user.grids.slice(),
    buildings: new Map(), // id -> the latest feature the server gave
    centres: new Map(), // id -> [lat, lon]
    edits: [], // this user's edit records, as stored
    position: null,
    sending: false,
    again: false,
    failures: 0,
    retryAt: 0,
    timer: null,
    sends: 0,
    conflictShown: null,
    selected: null,
    loginNeeded: false,
    swReady: false,
    swControlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller),
    workerData: false,
    lastError: null,
    permissions: [],
    categories: null, // /api/event-categories, as last read (kept for offline use)
    eventFid: null, // the building whose event form is open
    lookups: 0, // tried reports looked up before sending again
  };

  const $ = (role) => document.querySelector(`[data-role="${role}"]`);
  const format = (template, values) =>
    template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ''));

  // --- IndexedDB ---------------------------------------------------------------------------

  const dbReady = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('edits')) {
        db.createObjectStore('edits', { keyPath: 'id' });
      }
      if (!db.objectStoreNames.contains('buildings')) {
        db.createObjectStore('buildings', { keyPath: 'key' });
      }
      if (!db.objectStoreNames.contains('meta')) {
        db.createObjectStore('meta', { keyPath: 'key' });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  function idb(store, mode, work) {
    return dbReady.then(
      (db) =>
        new Promise((resolve, reject) => {
          const tx = db.transaction(store, mode);
          const request = work(tx.objectStore(store));
          tx.oncomplete = () => resolve(request ? request.result : undefined);
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error);
        }),
    );
  }
  const putRecord = (store, value) => idb(store, 'readwrite', (s) => s.put(value));
  const allRecords = (store) => idb(store, 'readonly', (s) => s.getAll());
  const getRecord = (store, key) => idb(store, 'readonly', (s) => s.get(key));
  const deleteRecord = (store, key) => idb(store, 'readwrite', (s) => s.delete(key));

  function putEdits(records) {
    return idb('edits', 'readwrite', (s) => {
      records.forEach((r) => s.put(r));
      return null;
    });
  }

  // --- helpers ----------------------------------------------------------------------------

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return `field-${window.crypto.randomUUID()}`;
    }
    const random = Math.random().toString(36).slice(2);
    return `field-${Date.now().toString(36)}-${random}`;
  }

  let lastOrder = 0;
  function nextOrder() {
    lastOrder = Math.max(Date.now(), lastOrder + 1);
    return lastOrder;
  }

  function day(time) {
    const d = new Date(time);
    return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
  }
  const today = () => day(Date.now());
  function isoToday() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function same(a, b) {
    const norm = (v) => (v === undefined || v === '' ? null : v);
    return norm(a) === norm(b);
  }

  function shownValue(field, value) {
    if (value === null || value === undefined || value === '') {
      return T.empty_value;
    }
    const spec = FIELDS.find((f) => f.name === field);
    if (spec && spec.kind === 'percent' && typeof value === 'number') {
      return `${Math.round(value * 1000) / 10}${T.percent_unit}`;
    }
    return String(value);
  }

  function csrf() {
    const found = document.cookie.split('; ').find((c) => c.startsWith('gridmap_csrf='));
    return found ? decodeURIComponent(found.slice('gridmap_csrf='.length)) : '';
  }

  function loginUrl() {
    return `${CONFIG.loginUrl}?next=${encodeURIComponent(location.pathname + location.search)}`;
  }

  let toastTimer = null;
  function toast(message) {
    const box = $('toast');
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, 3500);
  }

  function banner(message, link) {
    const box = $('banner');
    box.textContent = '';
    if (!message) {
      box.hidden = true;
      return;
    }
    box.append(message);
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      a.className = 'gm-field-btn gm-field-btn-primary';
      box.append(' ', a);
    }
    box.hidden = false;
  }

  // --- buildings ---------------------------------------------------------------------------

  function keyOf(id) {
    return `${USER}:${id}`;
  }

  function known(id) {
    const f = state.buildings.get(id);
    return f ? f.properties : {};
  }

  function editsOf(id) {
    return state.edits.filter((e) => e.fid === id).sort((a, b) => a.order - b.order);
  }

  /** The building as the user sees it: the server's latest with the edits still to send. */
  function shown(id) {
    const props = Object.assign({}, known(id));
    editsOf(id).forEach((e) => {
      if (WAITING.includes(e.state) && e.changes) {
        Object.assign(props, e.changes);
      }
    });
    return props;
  }

  function remember(feature) {
    const id = Number(feature.id);
    const old = state.buildings.get(id);
    const version = Number(feature.properties.version || 0);
    if (old && Number(old.properties.version || 0) > version) {
      return Promise.resolve(false);
    }
    const merged = old && !feature.geometry ? Object.assign({}, feature, { geometry: old.geometry }) : feature;
    state.buildings.set(id, merged);
    if (!state.centres.has(id) && merged.geometry) {
      const centre = L.geoJSON(merged).getBounds().getCenter();
      state.centres.set(id, [centre.lat, centre.lng]);
    }
    return putRecord('buildings', { key: keyOf(id), user: USER, feature: merged }).then(() => true);
  }

  async function loadMe() {
    try {
      const answer = await fetch(`${ROOT}/api/auth/me`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      if (answer.status === 401) {
        loginExpired();
        throw new Error('401');
      }
      if (!answer.ok) {
        throw new Error(String(answer.status));
      }
      const me = await answer.json();
      if (me.username === USER) {
        state.grids = me.grids;
        state.permissions = me.permissions || [];
        await putRecord('meta', { key: `me:${USER}`, me });
      }
    } catch {
      const kept = await getRecord('meta', `me:${USER}`);
      if (kept) {
        state.grids = kept.me.grids;
        state.permissions = kept.me.permissions || [];
      }
    }
  }

  const mayReport = () => state.permissions.includes('report_events');

  /** The event categories (大类 with their 小类), read afresh or as kept on the device. */
  async function loadCategories() {
    try {
      const answer = await fetch(`${ROOT}/api/event-categories`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      if (!answer.ok) {
        throw new Error(String(answer.status));
      }
      const data = await answer.json();
      state.categories = data.categories || [];
      await putRecord('meta', { key: 'event-categories', categories: state.categories });
    } catch {
      const kept = await getRecord('meta', 'event-categories');
      if (kept) {
        state.categories = kept.categories;
      }
    }
  }

  function buildingUrls() {
    const base = `${ROOT}/api/layers/buildings?limit=10000`;
    if (state.grids.length) {
      return state.grids.map((g) => `${base}&grid=${encodeURIComponent(g)}`);
    }
    if (CONFIG.user.communities.length) {
      return CONFIG.user.communities.map((c) => `${base}&community=${encodeURIComponent(c)}`);
    }
    return [base];
  }

  async function loadBuildings() {
    const kept = await allRecords('buildings');
    kept.filter((r) => r.user === USER).forEach((r) => {
      state.buildings.set(Number(r.feature.id), r.feature);
    });
    let fromNetwork = true;
    let failed = false;
    const ids = new Set();
    for (const url of buildingUrls()) {
      try {
        const answer = await fetch(url, {
          credentials: 'same-origin',
          headers: { Accept: 'application/geo+json' },
        });
        if (answer.status === 401) {
          loginExpired();
        }
        if (!answer.ok) {
          throw new Error(String(answer.status));
        }
        if (answer.headers.get('X-Gridmap-From-Cache')) {
          fromNetwork = false;
        }
        const data = await answer.json();
        for (const feature of data.features) {
          ids.add(Number(feature.id));
          await remember(feature);
        }
      } catch {
        failed = true;
        fromNetwork = false;
      }
    }
    if (!failed) {
      // Buildings no longer in the user's grids are forgotten.
      for (const id of Array.from(state.buildings.keys())) {
        if (!ids.has(id)) {
          state.buildings.delete(id);
          await deleteRecord('buildings', keyOf(id));
        }
      }
    }
    state.buildings.forEach((f, id) => {
      if (!state.centres.has(id) && f.geometry) {
        const centre = L.geoJSON(f).getBounds().getCenter();
        state.centres.set(id, [centre.lat, centre.lng]);
      }
    });
    state.source = fromNetwork ? 'network' : 'cache';
    const note = $('note');
    if (!state.buildings.size) {
      note.textContent = failed ? T.load_failed : T.no_buildings;
      note.hidden = false;
    } else if (!fromNetwork) {
      note.textContent = T.from_cache;
      note.hidden = false;
    } else {
      note.hidden = true;
    }
  }

  async function loadEdits() {
    const all = await allRecords('edits');
    const week = Date.now() - 7 * 24 * 3600 * 1000;
    const old = all.filter((e) => e.user === USER && e.created < week && !WAITING.includes(e.state));
    await Promise.all(old.map((e) => deleteRecord('edits', e.id)));
    state.edits = all.filter((e) => e.user === USER && !old.includes(e));
    state.edits.forEach((e) => {
      lastOrder = Math.max(lastOrder, e.order);
    });
  }

  function visitedToday() {
    const out = new Set();
    const now = today();
    CONFIG.visited.forEach(([id, at]) => {
      if (day(at) === now) {
        out.add(Number(id));
      }
    });
    state.edits.forEach((e) => {
      if (day(e.created) === now && e.state !== 'refused' && e.kind !== 'dismiss' && e.kind !== 'event') {
        out.add(e.fid);
      }
    });
    const iso = isoToday();
    state.buildings.forEach((f, id) => {
      if (shown(id).visited_on === iso) {
        out.add(id);
      }
    });
    return out;
  }

  // --- the map -----------------------------------------------------------------------------

  let map = null;
  let layer = null;
  let me = null;
  const COLOURS = {
    unvisited: '#1e63b8',
    visited: '#2e7d32',
    waiting: '#ef6c00',
    conflict: '#c62828',
  };

  function status(id, visited) {
    const edits = editsOf(id);
    if (edits.some((e) => e.state === 'conflict' || e.state === 'duplicate')) {
      return 'conflict';
    }
    if (edits.some((e) => WAITING.includes(e.state))) {
      return 'waiting';
    }
    return visited.has(id) ? 'visited' : 'unvisited';
  }

  function setUpMap() {
    map = L.map('gm-field-map', { zoomControl: true, attributionControl: true });
    const basemap = new URLSearchParams(location.search).get('basemap') || 'osm';
    if (basemap === 'osm') {
      L.tileLayer(CONFIG.basemapUrl, {
        maxZoom: 19,
        crossOrigin: true, // a CORS answer the worker may keep (an opaque one it may not)
        attribution: '&copy; OpenStreetMap',
      }).addTo(map);
    }
    map.setView([30, 114], 4);
  }

  function drawMap(visited) {
    if (layer) {
      layer.remove();
    }
    const features = Array.from(state.buildings.values()).filter((f) => f.geometry);
    layer = L.geoJSON(
      { type: 'FeatureCollection', features },
      {
        style: (f) => {
          const colour = COLOURS[status(Number(f.id), visited)];
          return { color: colour, fillColor: colour, weight: 2, fillOpacity: 0.45 };
        },
        onEachFeature: (f, l) => {
          l.on('click', () => openForm(Number(f.id)));
          l.bindTooltip(String(f.properties.name || f.properties.code || f.id));
        },
      },
    ).addTo(map);
    if (!drawMap.fitted && features.length) {
      map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 18 });
      drawMap.fitted = true;
    }
  }

  // --- distance and the list ---------------------------------------------------------------

  function metres(a, b) {
    const rad = Math.PI / 180;
    const dLat = (b[0] - a[0]) * rad;
    const dLon = (b[1] - a[1]) * rad;
    const h =
      Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * 6371008 * Math.asin(Math.sqrt(h));
  }

  function distanceOf(id) {
    const centre = state.centres.get(id);
    return state.position && centre ? metres(state.position, centre) : null;
  }

  function sortedIds(visited) {
    const ids = Array.from(state.buildings.keys());
    return ids.sort((a, b) => {
      const va = visited.has(a) ? 1 : 0;
      const vb = visited.has(b) ? 1 : 0;
      if (va !== vb) {
        return va - vb;
      }
      const da = distanceOf(a);
      const db = distanceOf(b);
      if (da !== null && db !== null && da !== db) {
        return da - db;
      }
      const na = String(known(a).code || a);
      const nb = String(known(b).code || b);
      return na.localeCompare(nb, 'zh-CN', { numeric: true });
    });
  }

  function distanceText(d) {
    if (d === null) {
      return '';
    }
    if (d < 1000) {
      return format(T.distance_m, { m: Math.round(d) });
    }
    return format(T.distance_km, { km: (d / 1000).toFixed(1) });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function latestEdit(id) {
    const edits = editsOf(id);
    return edits.length ? edits[edits.length - 1] : null;
  }

  function stateBadge(edit) {
    const badge = el('span', `gm-field-badge gm-field-state-${edit.state}`, T[`state_${edit.state}`]);
    badge.dataset.state = edit.state;
    return badge;
  }

  function drawList(visited) {
    const list = $('list');
    list.textContent = '';
    sortedIds(visited).forEach((id) => {
      const p = shown(id);
      const item = el('li', 'gm-field-item');
      item.dataset.fid = String(id);
      item.dataset.code = String(p.code || '');
      item.dataset.visited = visited.has(id) ? 'true' : 'false';
      const button = el('button', 'gm-field-item-button');
      button.type = 'button';
      button.dataset.action = 'open';
      button.dataset.fid = String(id);
      const head = el('span', 'gm-field-item-head');
      head.append(el('span', 'gm-field-item-name', String(p.name || p.code || id)));
      head.append(
        el(
          'span',
          `gm-field-badge ${visited.has(id) ? 'gm-field-visited' : 'gm-field-unvisited'}`,
          visited.has(id) ? T.visited : T.not_visited,
        ),
      );
      const edit = latestEdit(id);
      if (edit) {
        head.append(stateBadge(edit));
      }
      button.append(head);
      const facts = [p.compound_name, p.grid_name, distanceText(distanceOf(id))].filter(Boolean);
      button.append(el('span', 'gm-field-item-sub', facts.join(' · ')));
      item.append(button);
      list.append(item);
    });
  }

  function summary(edit) {
    if (edit.kind === 'photo') {
      return T.photo_summary;
    }
    if (edit.kind === 'dismiss') {
      return T.dismiss_summary;
    }
    if (edit.kind === 'event') {
      return format(T.event_summary, { category: edit.categoryName || edit.body.category, description: edit.body.description });
    }
    return Object.keys(edit.changes)
      .map((k) => `${LABEL[k] || k} ${shownValue(k, edit.before[k])} \u2192 ${shownValue(k, edit.changes[k])}`)
      .join('; ');
  }

  function logItem(edit) {
    const item = el('li', 'gm-field-log-item');
    item.dataset.edit = edit.id;
    item.dataset.state = edit.state;
    item.dataset.fid = String(edit.fid);
    const head = el('span', 'gm-field-item-head');
    head.append(el('span', 'gm-field-item-name', edit.name));
    head.append(stateBadge(edit));
    item.append(head);
    item.append(el('span', 'gm-field-item-sub', summary(edit)));
    if (edit.error) {
      item.append(el('span', 'gm-field-log-error', format(T.refused, { why: edit.error })));
    }
    if (edit.state === 'conflict') {
      const open = el('button', 'gm-field-btn gm-field-btn-danger', T.conflict_open);
      open.type = 'button';
      open.dataset.action = 'conflict';
      open.dataset.edit = edit.id;
      item.append(open);
    }
    if (edit.kind === 'event' && edit.eventCode) {
      item.append(el('span', 'gm-field-item-sub gm-field-event-code', format(T.event_sent, { code: edit.eventCode })));
    }
    if (edit.state === 'duplicate') {
      item.append(el('span', 'gm-field-item-sub', T.event_duplicate));
      const list = el('ul', 'gm-field-duplicates');
      (edit.duplicates || []).forEach((d) => {
        const li = el(
          'li',
          null,
          format(T.event_duplicate_item, {
            code: d.code,
            status: d.status_zh,
            m: Math.round(d.distance_m),
            description: d.description,
          }),
        );
        li.dataset.code = d.code;
        list.append(li);
      });
      item.append(list);
      const actions = el('span', 'gm-field-log-actions');
      [
        ['event-withdraw', 'gm-field-btn gm-field-btn-quiet', T.event_withdraw],
        ['event-force', 'gm-field-btn gm-field-btn-primary', T.event_force],
      ].forEach(([action, className, text]) => {
        const b = el('button', className, text);
        b.type = 'button';
        b.dataset.action = action;
        b.dataset.edit = edit.id;
        actions.append(b);
      });
      item.append(actions);
    }
    return item;
  }

  function drawLog() {
    const log = $('log');
    log.textContent = '';
    const now = today();
    const edits = state.edits.filter(
      (e) => day(e.created) === now || WAITING.includes(e.state) || e.state === 'conflict' || e.state === 'duplicate',
    );
    edits.sort((a, b) => b.order - a.order || b.created - a.created);
    if (!edits.length) {
      log.append(el('li', 'gm-field-log-empty', T.log_empty));
    }
    edits.forEach((e) => log.append(logItem(e)));
  }

  function drawHeader(visited) {
    const waiting = state.edits.filter((e) => WAITING.includes(e.state)).length;
    const conflicts = state.edits.filter((e) => e.state === 'conflict').length;
    const duplicates = state.edits.filter((e) => e.state === 'duplicate').length;
    const queue = $('queue');
    const parts = [];
    if (waiting) {
      parts.push(format(T.queue_waiting, { n: waiting }));
    }
    if (conflicts) {
      parts.push(format(T.queue_conflicts, { n: conflicts }));
    }
    if (duplicates) {
      parts.push(format(T.queue_duplicates, { n: duplicates }));
    }
    queue.dataset.duplicates = String(duplicates);
    queue.textContent = parts.length ? parts.join(' · ') : T.queue_empty;
    queue.dataset.waiting = String(waiting);
    queue.dataset.conflicts = String(conflicts);
    const conn = $('connection');
    const online = state.online && state.failures === 0;
    conn.textContent = online ? T.online : T.offline;
    conn.dataset.online = online ? 'true' : 'false';
    const ids = new Set(state.buildings.keys());
    const done = Array.from(visited).filter((id) => ids.has(id)).length;
    const progress = $('progress');
    progress.textContent = format(T.progress, { done, total: ids.size });
    progress.dataset.done = String(done);
    progress.dataset.total = String(ids.size);
  }

  function render() {
    const visited = visitedToday();
    drawHeader(visited);
    drawList(visited);
    drawLog();
    if (map) {
      drawMap(visited);
    }
    if (state.selected !== null && !$('form').hidden) {
      drawFormState(state.selected);
    }
  }

  // --- the form ----------------------------------------------------------------------------

  function inputValue(spec, value) {
    if (value === null || value === undefined) {
      return '';
    }
    if (spec.kind === 'percent') {
      return String(Math.round(Number(value) * 1000) / 10);
    }
    return String(value);
  }

  function stepper(input, step) {
    const make = (sign) => {
      const b = el('button', 'gm-field-btn gm-field-step', sign > 0 ? '+' : '\u2212');
      b.type = 'button';
      b.dataset.step = String(sign);
      b.setAttribute('aria-label', sign > 0 ? '+' : '-');
      b.addEventListener('click', () => {
        const now = input.value === '' ? 0 : Number(input.value);
        let next = Math.round((now + sign * step) * 10) / 10;
        const max = input.max === '' ? Infinity : Number(input.max);
        next = Math.min(Math.max(next, 0), max);
        input.value = String(next);
      });
      return b;
    };
    return [make(-1), make(1)];
  }

  function openForm(id) {
    state.selected = id;
    const p = shown(id);
    $('form-title').textContent = String(p.name || p.code || id);
    $('form-sub').textContent = [
      `${T.code} ${p.code || ''}`,
      p.compound_name ? `${T.compound} ${p.compound_name}` : '',
      p.grid_name ? `${T.grid} ${p.grid_name}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    $('form-error').textContent = '';
    const box = $('form-fields');
    box.textContent = '';
    FIELDS.forEach((spec) => {
      const row = el('label', 'gm-field-row');
      row.append(el('span', 'gm-field-row-label', spec.kind === 'percent' ? `${spec.label} (${T.percent_unit})` : spec.label));
      const input = document.createElement(spec.kind === 'text' ? 'textarea' : 'input');
      input.name = spec.name;
      input.className = 'gm-field-input';
      input.value = inputValue(spec, p[spec.name]);
      input.disabled = !CONFIG.user.mayEdit;
      if (spec.kind === 'date') {
        // Opening the form is visiting the building: saving records today's visit.
        input.type = 'date';
        input.max = isoToday();
        input.value = isoToday();
        row.append(input);
      } else if (spec.kind === 'text') {
        input.rows = 3;
        input.maxLength = 500;
        row.append(input);
      } else if (spec.kind === 'str') {
        input.type = spec.name.endsWith('phone') ? 'tel' : 'text';
        input.autocomplete = 'off';
        row.append(input);
      } else {
        input.type = 'number';
        input.min = '0';
        input.inputMode = spec.kind === 'percent' ? 'decimal' : 'numeric';
        if (spec.kind === 'percent') {
          input.max = '100';
          input.step = '0.1';
        } else {
          input.step = '1';
        }
        const wrap = el('span', 'gm-field-stepper');
        const [minus, plus] = stepper(input, spec.kind === 'percent' ? 5 : 1);
        minus.disabled = plus.disabled = !CONFIG.user.mayEdit;
        wrap.append(minus, input, plus);
        row.append(wrap);
      }
      box.append(row);
    });
    document.querySelector('[data-action="save"]').disabled = !CONFIG.user.mayEdit;
    document.querySelector('[data-action="event-open"]').hidden = !mayReport();
    document.querySelector('[data-role="photo-input"]').disabled = !CONFIG.user.mayEdit;
    drawPhotos(id);
    drawFormState(id);
    $('form').hidden = false;
  }

  function drawFormState(id) {
    const edit = latestEdit(id);
    const badge = $('form-state');
    badge.textContent = edit ? T[`state_${edit.state}`] : '';
    badge.dataset.state = edit ? edit.state : '';
    badge.className = `gm-field-badge ${edit ? `gm-field-state-${edit.state}` : ''}`;
    const log = $('form-log');
    log.textContent = '';
    editsOf(id)
      .filter((e) => day(e.created) === today() || WAITING.includes(e.state) || e.state === 'conflict' || e.state === 'duplicate')
      .reverse()
      .forEach((e) => log.append(logItem(e)));
  }

  function closeForm() {
    $('form').hidden = true;
    state.selected = null;
  }

  /** The form's values, parsed; or a message saying which one is wrong. */
  function readForm() {
    const out = {};
    for (const spec of FIELDS) {
      const input = document.querySelector(`.gm-field-form [name="${spec.name}"]`);
      const raw = input.value.trim();
      if (spec.kind === 'date' && raw > isoToday()) {
        return { error: format(T.invalid_date, { label: spec.label }) };
      }
      if (spec.kind === 'str' || spec.kind === 'text' || spec.kind === 'date') {
        out[spec.name] = raw === '' ? null : raw;
      } else if (raw === '') {
        out[spec.name] = null;
      } else if (spec.kind === 'int') {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0) {
          return { error: format(T.invalid_number, { label: spec.label }) };
        }
        out[spec.name] = n;
      } else {
        const n = Number(raw);
        if (!Number.isFinite(n) || n < 0 || n > 100) {
          return { error: format(T.invalid_percent, { label: spec.label }) };
        }
        out[spec.name] = Math.round(n * 10) / 1000;
      }
    }
    return { values: out };
  }

  async function saveForm() {
    const id = state.selected;
    if (id === null || !CONFIG.user.mayEdit) {
      return null;
    }
    const read = readForm();
    if (read.error) {
      $('form-error').textContent = read.error;
      return null;
    }
    const now = shown(id);
    const changes = {};
    const before = {};
    Object.keys(read.values).forEach((k) => {
      const spec = FIELDS.find((f) => f.name === k);
      const was = spec.kind === 'percent' && typeof now[k] === 'number' ? Math.round(now[k] * 1000) / 1000 : now[k];
      if (!same(read.values[k], was)) {
        changes[k] = read.values[k];
        before[k] = now[k] === undefined ? null : now[k];
      }
    });
    if (!Object.keys(changes).length) {
      $('form-error').textContent = T.no_changes;
      return null;
    }
    const edit = {
      id: newId(),
      user: USER,
      fid: id,
      code: now.code || null,
      name: String(now.name || now.code || id),
      base: Number(known(id).version || 0),
      changes,
      before,
      state: 'saved',
      order: nextOrder(),
      created: Date.now(),
      attempts: 0,
    };
    await putRecord('edits', edit);
    state.edits.push(edit);
    closeForm();
    toast(T.saved_toast);
    render();
    flush();
    return edit.id;
  }

  // --- photos ------------------------------------------------------------------------------

  const PHOTO_SIDE = 2048;
  const photoList = new Map(); // id -> the server's photos of the building, once read

  /** Shrink a camera photo on the device (upright, at most 2048 px, JPEG): less to send. */
  async function shrink(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      return file; // a format the browser cannot draw: the server says what is wrong with it
    }
    const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
    return blob || file;
  }

  async function takePhoto(file) {
    const id = state.selected;
    if (id === null || !file || !CONFIG.user.mayEdit) {
      return null;
    }
    const now = shown(id);
    const uid = window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID() : null;
    if (!uid) {
      $('form-error').textContent = T.photo_unsupported;
      return null;
    }
    const edit = {
      id: `photo-${uid}`,
      kind: 'photo',
      uid,
      blob: await shrink(file),
      user: USER,
      fid: id,
      code: now.code || null,
      name: String(now.name || now.code || id),
      state: 'saved',
      order: nextOrder(),
      created: Date.now(),
      attempts: 0,
    };
    await putRecord('edits', edit);
    state.edits.push(edit);
    toast(T.photo_saved);
    drawPhotos(id);
    render();
    flush();
    return edit.id;
  }

  async function drawPhotos(id) {
    const box = $('form-photos');
    box.textContent = '';
    const local = editsOf(id).filter((e) => e.kind === 'photo' && e.blob);
    local.forEach((e) => {
      const img = el('img', 'gm-field-photo gm-field-photo-waiting');
      img.src = URL.createObjectURL(e.blob);
      img.addEventListener('load', () => URL.revokeObjectURL(img.src), { once: true });
      img.alt = T.photo_waiting;
      img.dataset.state = e.state;
      box.append(img);
    });
    let kept = photoList.get(id);
    if (!kept && navigator.onLine) {
      try {
        const answer = await fetch(`${ROOT}/api/layers/buildings/${id}/photos`, {
          credentials: 'same-origin',
          headers: { Accept: 'application/json' },
        });
        kept = answer.ok ? await answer.json() : [];
        photoList.set(id, kept);
      } catch {
        kept = [];
      }
    }
    if (state.selected !== id) {
      return;
    }
    (kept || []).forEach((p) => {
      const img = el('img', 'gm-field-photo');
      img.src = p.thumb_url;
      img.alt = p.caption || T.photo;
      img.loading = 'lazy';
      box.append(img);
    });
    $('photo-count').textContent = format(T.photo_count, { n: local.length + (kept || []).length });
  }

  // --- events (上报事件) ----------------------------------------------------------------------

  /** A point inside the building's outline (its box's centre, when that is inside). */
  function pointInside(feature) {
    const g = feature.geometry;
    const rings = g.type === 'Polygon' ? g.coordinates : g.type === 'MultiPolygon' ? g.coordinates[0] : null;
    const centre = state.centres.get(Number(feature.id));
    if (!rings || !rings.length) {
      return centre ? [centre[1], centre[0]] : null;
    }
    const ring = rings[0];
    const inside = (x, y) => {
      let within = false;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
          within = !within;
        }
      }
      return within;
    };
    if (centre && inside(centre[1], centre[0])) {
      return [centre[1], centre[0]];
    }
    // Else the middle of the first stretch of the outline's middle line that lies inside.
    const ys = ring.map((p) => p[1]);
    const y = (Math.min(...ys) + Math.max(...ys)) / 2;
    const xs = [];
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y) {
        xs.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
      }
    }
    xs.sort((a, b) => a - b);
    return xs.length >= 2 ? [(xs[0] + xs[1]) / 2, y] : ring[0];
  }

  function fillSubclasses(group) {
    const select = document.querySelector('[name="event_category"]');
    select.textContent = '';
    const first = el('option', null, T.event_choose);
    first.value = '';
    select.append(first);
    const found = (state.categories || []).find((k) => k.code === group);
    (found ? found.children : []).forEach((c) => {
      const o = el('option', null, c.name);
      o.value = c.code;
      select.append(o);
    });
  }

  function categoryName(code) {
    for (const k of state.categories || []) {
      const c = k.children.find((x) => x.code === code);
      if (c) {
        return `${k.name} · ${c.name}`;
      }
    }
    return code;
  }

  /** Open the event form for building ``id`` (上报事件). */
  function openEvent(id) {
    if (id === null || id === undefined || !mayReport()) {
      return;
    }
    if (!state.categories || !state.categories.length) {
      toast(T.event_no_categories);
      return;
    }
    state.eventFid = id;
    const p = shown(id);
    $('event-title').textContent = format(T.event_title, { name: String(p.name || p.code || id) });
    $('event-error').textContent = '';
    const group = document.querySelector('[name="event_group"]');
    group.textContent = '';
    const first = el('option', null, T.event_choose);
    first.value = '';
    group.append(first);
    state.categories.forEach((k) => {
      const o = el('option', null, k.name);
      o.value = k.code;
      group.append(o);
    });
    fillSubclasses('');
    document.querySelector('[name="event_description"]').value = '';
    $('event').hidden = false;
  }

  function closeEvent() {
    $('event').hidden = true;
    state.eventFid = null;
  }

  /** Keep the event of the open form on the device (sent when online); return its id. */
  async function saveEvent() {
    const id = state.eventFid;
    if (id === null || !mayReport()) {
      return null;
    }
    const category = document.querySelector('[name="event_category"]').value;
    const description = document.querySelector('[name="event_description"]').value.trim();
    if (!category || !description) {
      $('event-error').textContent = T.event_missing;
      return null;
    }
    const feature = state.buildings.get(id);
    const point = feature ? pointInside(feature) : null;
    if (!point) {
      $('event-error').textContent = T.event_missing;
      return null;
    }
    const p = shown(id);
    const body = {
      lon: Number(point[0].toFixed(7)),
      lat: Number(point[1].toFixed(7)),
      category,
      description,
      source: 'field',
    };
    if (known(id).code) {
      body.building = String(known(id).code);
    }
    const edit = {
      id: `event-${newId()}`,
      kind: 'event',
      user: USER,
      fid: id,
      code: p.code || null,
      name: String(p.name || p.code || id),
      body,
      categoryName: categoryName(category),
      state: 'saved',
      order: nextOrder(),
      created: Date.now(),
      attempts: 0,
      tried: false,
    };
    await putRecord('edits', edit);
    state.edits.push(edit);
    closeEvent();
    toast(T.event_saved);
    render();
    flush();
    return edit.id;
  }

  /** The day of ``time`` (ms) in China's time: YYYY-MM-DD, as the API's ``since`` takes it. */
  const chinaDay = (time) => new Date(time + 8 * 3600 * 1000).toISOString().slice(0, 10);

  /**
   * Whether a tried report reached the server although its answer never came: this user's
   * event of that kind, description and point, reported since it was first tried, and no
   * other report's of this device. Its code; null when it did not arrive; undefined when the
   * server cannot be asked now.
   */
  async function findSent(edit) {
    const b = edit.body;
    const since = chinaDay((edit.triedAt || edit.created) - 24 * 3600 * 1000);
    const url = `${ROOT}/api/events?category=${encodeURIComponent(b.category)}&since=${since}&limit=10000`;
    let answer;
    try {
      answer = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch {
      return undefined;
    }
    if (answer.status === 401) {
      loginExpired();
      return undefined;
    }
    if (!answer.ok) {
      return undefined;
    }
    state.lookups += 1;
    const data = await answer.json();
    const taken = new Set(state.edits.filter((e) => e.eventCode && e.id !== edit.id).map((e) => e.eventCode));
    const after = (edit.triedAt || edit.created) - 10 * 60 * 1000;
    const found = data.features.find((f) => {
      const p = f.properties;
      const [x, y] = f.geometry.coordinates;
      return (
        p.reporter === USER &&
        p.description === b.description &&
        !taken.has(p.code) &&
        Math.abs(x - b.lon) < 1e-7 &&
        Math.abs(y - b.lat) < 1e-7 &&
        new Date(p.reported_at).getTime() >= after
      );
    });
    return found ? found.properties.code : null;
  }

  async function eventSent(edit, code) {
    state.failures = 0;
    state.retryAt = 0;
    edit.state = 'sent';
    edit.eventCode = code;
    edit.sent = Date.now();
    delete edit.error;
    delete edit.duplicates;
    await putRecord('edits', edit);
    return true;
  }

  /** Send an event report once (see the top of this file); return whether to go on. */
  async function sendEvent(edit) {
    if (edit.tried) {
      const code = await findSent(edit);
      if (code === undefined) {
        failed(edit);
        await putRecord('edits', edit);
        return false;
      }
      if (code) {
        return eventSent(edit, code);
      }
    }
    edit.tried = true;
    edit.triedAt = edit.triedAt || Date.now();
    await putRecord('edits', edit);
    const sent = await deliver(edit, `${ROOT}/api/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify(edit.body),
    });
    if (!sent) {
      return false; // no answer: tried, looked up before the next send
    }
    const { answer, body } = sent;
    if (answer.ok && body && body.code) {
      return eventSent(edit, body.code);
    }
    if (answer.status < 500) {
      edit.tried = false; // the server answered that it made nothing
      delete edit.triedAt;
    }
    state.failures = 0;
    const detail = body && Array.isArray(body.detail) ? body.detail[0] : null;
    if (answer.status === 409 && detail && detail.type === 'duplicate_suggested') {
      edit.state = 'duplicate';
      edit.error = errorText(body);
      edit.duplicates = await nearby(edit.body);
      await putRecord('edits', edit);
      toast(T.event_duplicate_toast);
      return true;
    }
    return unsent(edit, answer, body);
  }

  /** The open events of the report's kind near its point (empty when they cannot be read). */
  async function nearby(b) {
    const query = new URLSearchParams({ lon: String(b.lon), lat: String(b.lat), category: b.category });
    try {
      const answer = await fetch(`${ROOT}/api/events/duplicates?${query}`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      return answer.ok ? (await answer.json()).duplicates : [];
    } catch {
      return [];
    }
  }

  /** 仍然上报: send a report put aside as a likely duplicate, as a new problem. */
  async function forceEvent(editId) {
    const edit = state.edits.find((e) => e.id === editId);
    if (!edit || edit.state !== 'duplicate') {
      return;
    }
    edit.body = Object.assign({}, edit.body, { allow_duplicate: true });
    edit.state = 'saved';
    edit.tried = false;
    delete edit.duplicates;
    delete edit.error;
    await putRecord('edits', edit);
    render();
    flush();
  }

  /** 撤销上报: drop a report put aside as a likely duplicate (nothing is sent). */
  async function withdrawEvent(editId) {
    const edit = state.edits.find((e) => e.id === editId);
    if (!edit || edit.state !== 'duplicate') {
      return;
    }
    edit.state = 'withdrawn';
    await putRecord('edits', edit);
    render();
  }

  // --- sending -----------------------------------------------------------------------------

  /** The next edit to send: the oldest waiting one not behind a conflict of its building. */
  function nextEdit() {
    const ordered = state.edits.slice().sort((a, b) => a.order - b.order);
    const blocked = new Set();
    for (const e of ordered) {
      if (e.state === 'conflict') {
        blocked.add(e.fid);
      } else if (WAITING.includes(e.state) && (e.kind || !blocked.has(e.fid))) {
        return e;
      }
    }
    return null;
  }

  /** The version to send an edit on: a newer one when it holds what the edit was based on. */
  function baseOf(edit) {
    const props = known(edit.fid);
    const version = Number(props.version || 0);
    if (version > edit.base && Object.keys(edit.changes).every((k) => same(props[k], edit.before[k]))) {
      return version;
    }
    return edit.base;
  }

  function schedule(ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      state.timer = null;
      flush();
    }, Math.max(ms, 0));
  }

  function failed(edit) {
    state.failures += 1;
    const wait = Math.min(MAX_BACKOFF, 1000 * 2 ** (state.failures - 1));
    const jittered = Math.round(wait * (0.75 + Math.random() * 0.5));
    state.retryAt = Date.now() + jittered;
    edit.state = 'pending';
    edit.attempts = (edit.attempts || 0) + 1;
    schedule(jittered);
  }

  function loginExpired() {
    state.loginNeeded = true;
    banner(T.login_needed, { href: loginUrl(), text: T.login_link });
  }

  function errorText(body) {
    const detail = body && Array.isArray(body.detail) ? body.detail[0] : null;
    if (detail && detail.msg) {
      return String(detail.msg);
    }
    return body && typeof body.detail === 'string' ? body.detail : '';
  }

  async function refresh(id) {
    try {
      const answer = await fetch(`${ROOT}/api/layers/buildings/${id}`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/geo+json', 'Cache-Control': 'no-cache' },
      });
      if (answer.ok && !answer.headers.get('X-Gridmap-From-Cache')) {
        await remember(await answer.json());
      }
    } catch {
      // Offline again: the conflict screen has what it needs from the 409.
    }
  }

  /**
   * Make one request for an edit; return the answer and its JSON body (null when none), or
   * null when the network failed (the edit then waits, backing off).
   */
  async function deliver(edit, url, init) {
    let answer;
    try {
      answer = await fetch(url, Object.assign({ credentials: 'same-origin' }, init));
    } catch {
      failed(edit);
      await putRecord('edits', edit);
      return null;
    }
    state.sends += 1;
    let body = null;
    try {
      body = await answer.json();
    } catch {
      body = null;
    }
    return { answer, body };
  }

  /** Send a photo (PUT by its id: a resend makes no second photo) or a dismissal. */
  async function sendOther(edit) {
    let sent;
    if (edit.kind === 'photo') {
      const form = new FormData();
      form.append('file', edit.blob, `${edit.uid}.jpg`);
      sent = await deliver(edit, `${ROOT}/api/layers/buildings/${edit.fid}/photos/${edit.uid}`, {
        method: 'PUT',
        headers: { Accept: 'application/json', 'X-CSRF-Token': csrf() },
        body: form,
      });
    } else {
      sent = await deliver(edit, `${ROOT}/api/conflicts/${edit.conflictId}/dismiss`, {
        method: 'POST',
        headers: { Accept: 'application/json', 'X-CSRF-Token': csrf() },
      });
    }
    if (!sent) {
      return false;
    }
    const { answer, body } = sent;
    if (answer.ok || (edit.kind === 'dismiss' && answer.status === 404)) {
      state.failures = 0;
      state.retryAt = 0;
      edit.state = 'sent';
      edit.sent = Date.now();
      delete edit.blob; // kept on the server now; the device keeps the record only
      delete edit.error;
      await putRecord('edits', edit);
      if (edit.kind === 'photo') {
        photoList.delete(edit.fid);
      }
      return true;
    }
    state.failures = 0;
    return unsent(edit, answer, body);
  }

  /**
   * An answer that is no success, for an edit of any kind: log in again (the edit waits),
   * try again later (the server or the network failed) or give up (the server said why).
   */
  async function unsent(edit, answer, body) {
    const detail = body && Array.isArray(body.detail) ? body.detail[0] : null;
    if (answer.status === 401 || (answer.status === 403 && detail && detail.loc && detail.loc.includes('X-CSRF-Token'))) {
      edit.state = 'pending';
      await putRecord('edits', edit);
      loginExpired();
      return false;
    }
    if (answer.status >= 500 || answer.status === 429 || answer.status === 408) {
      failed(edit);
      await putRecord('edits', edit);
      return false;
    }
    edit.state = 'refused';
    edit.error = errorText(body) || String(answer.status);
    await putRecord('edits', edit);
    return true;
  }

  /** Send one edit; return whether to go on with the next. */
  async function send(edit) {
    if (edit.kind === 'event') {
      return sendEvent(edit);
    }
    if (edit.kind) {
      return sendOther(edit);
    }
    const base = baseOf(edit);
    const sent = await deliver(edit, `${ROOT}/api/layers/buildings/${edit.fid}`, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'If-Match': `W/"${base}"`,
        'Idempotency-Key': edit.id,
        'X-CSRF-Token': csrf(),
      },
      body: JSON.stringify({ properties: edit.changes }),
    });
    if (!sent) {
      return false;
    }
    const { answer, body } = sent;
    if (answer.ok && body && body.properties) {
      state.failures = 0;
      state.retryAt = 0;
      edit.state = 'sent';
      edit.sentBase = base;
      edit.version = Number(body.properties.version);
      edit.sent = Date.now();
      delete edit.error;
      await remember(body);
      await putRecord('edits', edit);
      return true;
    }
    state.failures = 0;
    const detail = body && Array.isArray(body.detail) ? body.detail[0] : null;
    if (answer.status === 409 && detail && detail.type === 'version_conflict') {
      const ctx = detail.ctx || {};
      await refresh(edit.fid);
      let fields = Array.isArray(ctx.fields) ? ctx.fields : [];
      if (!fields.length) {
        const props = known(edit.fid);
        fields = Object.keys(edit.changes).map((k) => ({
          field: k,
          base: edit.before[k],
          current: props[k],
          proposed: edit.changes[k],
        }));
      }
      edit.state = 'conflict';
      edit.conflict = {
        id: ctx.conflict_id || null,
        current_version: Number(ctx.current_version || known(edit.fid).version || edit.base),
        fields,
      };
      await putRecord('edits', edit);
      if (!state.conflictShown) {
        openConflict(edit.id);
      }
      return true;
    }
    return unsent(edit, answer, body);
  }

  /** Edits that cannot go now (offline, backing off) wait: 待发送 rather than 已保存. */
  function markWaiting() {
    const saved = state.edits.filter((e) => e.state === 'saved');
    saved.forEach((e) => {
      e.state = 'pending';
    });
    return saved.length ? putEdits(saved) : Promise.resolve();
  }

  async function flush() {
    if (state.sending) {
      state.again = true;
      return;
    }
    if (state.loginNeeded) {
      return;
    }
    state.sending = true;
    try {
      for (;;) {
        const edit = nextEdit();
        if (!edit) {
          break;
        }
        if (state.retryAt > Date.now()) {
          schedule(state.retryAt - Date.now());
          await markWaiting();
          break;
        }
        if (!navigator.onLine) {
          await markWaiting();
          break;
        }
        const goOn = await send(edit);
        render();
        if (!goOn) {
          await markWaiting();
          break;
        }
      }
    } finally {
      state.sending = false;
      render();
    }
    if (state.again) {
      state.again = false;
      flush();
    }
  }

  // --- conflicts ---------------------------------------------------------------------------

  const choices = {};

  function openConflict(editId) {
    const edit = state.edits.find((e) => e.id === editId);
    if (!edit || edit.state !== 'conflict') {
      return;
    }
    state.conflictShown = editId;
    Object.keys(choices).forEach((k) => delete choices[k]);
    $('conflict-title').textContent = format(T.conflict_title, { name: edit.name });
    const rows = $('conflict-rows');
    rows.textContent = '';
    edit.conflict.fields.forEach((f) => {
      const row = el('tr');
      row.dataset.field = f.field;
      row.append(el('th', 'gm-field-conflict-label', LABEL[f.field] || f.field));
      row.append(el('td', 'gm-field-conflict-base', shownValue(f.field, f.base)));
      ['current', 'mine'].forEach((which) => {
        const cell = el('td');
        const value = which === 'current' ? f.current : f.proposed;
        const pick = el('button', 'gm-field-btn gm-field-choice', shownValue(f.field, value));
        pick.type = 'button';
        pick.dataset.choice = which;
        pick.dataset.field = f.field;
        pick.setAttribute('aria-pressed', 'false');
        cell.append(pick);
        row.append(cell);
      });
      rows.append(row);
    });
    document.querySelector('[data-action="conflict-submit"]').disabled = true;
    $('conflict').hidden = false;
  }

  function choose(field, which) {
    choices[field] = which;
    document.querySelectorAll(`.gm-field-choice[data-field="${field}"]`).forEach((b) => {
      b.setAttribute('aria-pressed', b.dataset.choice === which ? 'true' : 'false');
    });
    const edit = state.edits.find((e) => e.id === state.conflictShown);
    const all = edit && edit.conflict.fields.every((f) => choices[f.field]);
    document.querySelector('[data-action="conflict-submit"]').disabled = !all;
  }

  function closeConflict() {
    $('conflict').hidden = true;
    state.conflictShown = null;
  }

  async function resolveConflict() {
    const edit = state.edits.find((e) => e.id === state.conflictShown);
    if (!edit) {
      closeConflict();
      return null;
    }
    const colliding = new Set(edit.conflict.fields.map((f) => f.field));
    const changes = {};
    const before = {};
    Object.keys(edit.changes).forEach((k) => {
      if (!colliding.has(k)) {
        changes[k] = edit.changes[k];
        before[k] = edit.before[k];
      }
    });
    edit.conflict.fields.forEach((f) => {
      if (choices[f.field] === 'mine' && !same(f.proposed, f.current)) {
        changes[f.field] = f.proposed;
        before[f.field] = f.current === undefined ? null : f.current;
      }
    });
    edit.state = 'resolved';
    const records = [edit];
    let next = null;
    if (Object.keys(changes).length) {
      next = {
        id: newId(),
        user: USER,
        fid: edit.fid,
        code: edit.code,
        name: edit.name,
        base: edit.conflict.current_version,
        changes,
        before,
        state: 'saved',
        order: edit.order,
        created: Date.now(),
        attempts: 0,
        resolves: edit.id,
      };
      records.push(next);
      state.edits.push(next);
    } else if (edit.conflict.id) {
      // Every value kept as the other person left it: the server's record is settled too.
      next = {
        id: newId(),
        kind: 'dismiss',
        user: USER,
        fid: edit.fid,
        code: edit.code,
        name: edit.name,
        conflictId: edit.conflict.id,
        changes: {},
        before: {},
        state: 'saved',
        order: edit.order,
        created: Date.now(),
        attempts: 0,
      };
      records.push(next);
      state.edits.push(next);
    }
    await putEdits(records);
    closeConflict();
    render();
    flush();
    const another = state.edits.find((e) => e.state === 'conflict');
    if (another) {
      openConflict(another.id);
    }
    return next ? next.id : null;
  }

  // --- location ----------------------------------------------------------------------------

  function locate() {
    if (!navigator.geolocation) {
      toast(T.locate_unsupported);
      return;
    }
    toast(T.locating);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        state.position = [pos.coords.latitude, pos.coords.longitude];
        if (map) {
          if (me) {
            me.remove();
          }
          me = L.layerGroup([
            L.circle(state.position, { radius: pos.coords.accuracy, weight: 1, fillOpacity: 0.1 }),
            L.circleMarker(state.position, { radius: 8, color: '#fff', fillColor: '#1e63b8', fillOpacity: 1, weight: 3 }),
          ]).addTo(map);
          map.panTo(state.position);
        }
        toast(format(T.located, { m: Math.round(pos.coords.accuracy) }));
        render();
      },
      (err) => toast(format(T.locate_failed, { why: err.message || err.code })),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }

  // --- logging out -------------------------------------------------------------------------

  async function logout() {
    const waiting = state.edits.filter((e) => WAITING.includes(e.state)).length;
    if (waiting && !window.confirm(format(T.logout_waiting, { n: waiting }))) {
      return;
    }
    try {
      await fetch(`${ROOT}/api/auth/logout`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrf() },
      });
    } finally {
      location.assign(`${CONFIG.loginUrl}?next=${encodeURIComponent(CONFIG.page)}`);
    }
  }

  // --- wiring ------------------------------------------------------------------------------

  function showTab(which) {
    document.querySelectorAll('.gm-field-tab').forEach((t) => {
      t.setAttribute('aria-selected', t.dataset.tab === which ? 'true' : 'false');
    });
    $('list').hidden = which !== 'list';
    $('log').hidden = which !== 'log';
  }

  document.addEventListener('click', (event) => {
    const target = event.target.closest('[data-action], [data-tab], [data-choice]');
    if (!target) {
      return;
    }
    if (target.dataset.tab) {
      showTab(target.dataset.tab);
    } else if (target.dataset.choice) {
      choose(target.dataset.field, target.dataset.choice);
    } else {
      const action = target.dataset.action;
      if (action === 'open') {
        openForm(Number(target.dataset.fid));
      } else if (action === 'close-form') {
        closeForm();
      } else if (action === 'locate') {
        locate();
      } else if (action === 'conflict') {
        openConflict(target.dataset.edit);
      } else if (action === 'conflict-later') {
        closeConflict();
      } else if (action === 'conflict-submit') {
        resolveConflict();
      } else if (action === 'logout') {
        logout();
      } else if (action === 'event-open') {
        openEvent(state.selected);
      } else if (action === 'event-close') {
        closeEvent();
      } else if (action === 'event-force') {
        forceEvent(target.dataset.edit);
      } else if (action === 'event-withdraw') {
        withdrawEvent(target.dataset.edit);
      }
    }
  });

  document.querySelector('[data-role="photo-input"]').addEventListener('change', (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = '';
    takePhoto(file);
  });

  document.querySelector('.gm-field-form').addEventListener('submit', (event) => {
    event.preventDefault();
    saveForm();
  });

  document.querySelector('.gm-field-event-form').addEventListener('submit', (event) => {
    event.preventDefault();
    saveEvent();
  });

  document.querySelector('[name="event_group"]').addEventListener('change', (event) => {
    fillSubclasses(event.target.value);
  });

  window.addEventListener('online', () => {
    state.online = true;
    state.failures = 0;
    state.retryAt = 0;
    render();
    flush().then(refreshData);
  });
  window.addEventListener('offline', () => {
    state.online = false;
    render();
  });

  function registerWorker() {
    if (!('serviceWorker' in navigator)) {
      return;
    }
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      state.swControlled = true;
      // The first visit's data was read before the worker took over: read it again through
      // the worker, which keeps it for offline use.
      refreshData().then(() => {
        state.workerData = true;
      });
    });
    navigator.serviceWorker
      .register(CONFIG.swUrl, { scope: CONFIG.swScope })
      .then(() => navigator.serviceWorker.ready)
      .then(() => {
        state.swReady = true;
        if (navigator.serviceWorker.controller && !state.swControlled) {
          state.swControlled = true;
        }
        if (state.swControlled && !state.workerData) {
          whenReady.then(() => {
            state.workerData = true;
          });
        }
      })
      .catch((err) => {
        state.lastError = String(err);
      });
  }

  let markReady = null;
  const whenReady = new Promise((resolve) => {
    markReady = resolve;
  });

  /** Read who I am, the event categories and the buildings again (the worker keeps them). */
  async function refreshData() {
    await whenReady;
    await loadMe();
    await loadCategories();
    await loadBuildings();
    render();
  }

  async function start() {
    registerWorker();
    setUpMap();
    if (!CONFIG.user.mayEdit) {
      banner(T.read_only);
    }
    await loadEdits();
    await loadMe();
    await loadCategories();
    await loadBuildings();
    render();
    state.ready = true;
    markReady();
    flush();
  }

  window.GridField = {
    state,
    config: CONFIG,
    flush,
    openForm,
    saveForm,
    openConflict,
    resolveConflict,
    takePhoto,
    openEvent,
    saveEvent,
    forceEvent,
    withdrawEvent,
    shown,
    waiting: () => state.edits.filter((e) => WAITING.includes(e.state)).length,
    get map() {
      return map;
    },
  };

  start().catch((err) => {
    state.lastError = String(err);
    state.ready = true;
    throw err;
  });
})();
