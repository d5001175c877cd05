/*
 * gridmap: the service worker of the field page (/field, served at /field/sw.js by
 * gis_api/routes/field.py, which puts its configuration in self.GRIDMAP_FIELD_SW first).
 *
 * - The page's own files and the vendor files it loads are cached when the worker installs
 *   (one cache per version of those files; older versions are dropped when it activates) and
 *   answered from the cache.
 * - The page itself (/field, any query) and the data it reads (/api/auth/me, the buildings)
 *   are network first: each good answer is kept, and answered from the cache when the
 *   network fails (then with the header X-Gridmap-From-Cache: 1).
 * - Basemap tiles the user has viewed (CONFIG.tiles: their hosts) are kept, at most
 *   CONFIG.maxTiles of them, oldest dropped first, and answered from the cache when the
 *   network fails: the streets around a grid stay on the map offline. Nothing is fetched
 *   ahead of the user (the public basemaps' terms forbid bulk downloads; docs/field.md).
 * - Writes (PATCH, PUT) are never touched: the page queues them in IndexedDB itself.
 */
(function () {
  'use strict';

  const CONFIG = self.GRIDMAP_FIELD_SW;
  const PREFIX = 'gridmap-field-shell-';
  const SHELL = PREFIX + CONFIG.version;
  const DATA = 'gridmap-field-data';
  const TILES = 'gridmap-field-tiles';
  let stored = 0; // tiles put since the last trim

  async function cachePage(cache) {
    const answer = await fetch(CONFIG.page, { credentials: 'same-origin', cache: 'no-store' });
    if (answer.ok && !answer.redirected) {
      await cache.put(CONFIG.page, answer);
    }
  }

  self.addEventListener('install', (event) => {
    event.waitUntil(
      (async () => {
        const cache = await caches.open(SHELL);
        await cache.addAll(CONFIG.assets);
        try {
          await cachePage(cache);
        } catch {
          // Offline while installing: the page is cached on its next visit.
        }
        await self.skipWaiting();
      })(),
    );
  });

  self.addEventListener('activate', (event) => {
    event.waitUntil(
      (async () => {
        const names = await caches.keys();
        await Promise.all(
          names.filter((n) => n.startsWith(PREFIX) && n !== SHELL).map((n) => caches.delete(n)),
        );
        await self.clients.claim();
      })(),
    );
  });

  function fromCache(answer) {
    const headers = new Headers(answer.headers);
    headers.set('X-Gridmap-From-Cache', '1');
    return answer.blob().then(
      (body) => new Response(body, { status: answer.status, statusText: answer.statusText, headers }),
    );
  }

  async function page(request) {
    const cache = await caches.open(SHELL);
    try {
      const answer = await fetch(request);
      if (answer.ok && answer.type === 'basic' && !answer.redirected) {
        await cache.put(CONFIG.page, answer.clone());
      }
      return answer;
    } catch (err) {
      const kept = await cache.match(CONFIG.page);
      if (kept) {
        return kept;
      }
      throw err;
    }
  }

  async function data(request) {
    const cache = await caches.open(DATA);
    try {
      const answer = await fetch(request);
      if (answer.ok) {
        await cache.put(request, answer.clone());
      }
      return answer;
    } catch (err) {
      const kept = await cache.match(request);
      if (kept) {
        return fromCache(kept);
      }
      throw err;
    }
  }

  async function asset(request) {
    const cache = await caches.open(SHELL);
    const kept = await cache.match(request);
    if (kept) {
      return kept;
    }
    const answer = await fetch(request);
    if (answer.ok) {
      await cache.put(request, answer.clone());
    }
    return answer;
  }

  async function trim(cache) {
    const keys = await cache.keys();
    const over = keys.length - CONFIG.maxTiles;
    await Promise.all(keys.slice(0, Math.max(over, 0)).map((k) => cache.delete(k)));
  }

  async function tile(request) {
    const cache = await caches.open(TILES);
    try {
      const answer = await fetch(request);
      if (answer.ok && answer.type === 'cors') {
        await cache.delete(request); // put again: the newest at the end of the keys
        await cache.put(request, answer.clone());
        stored += 1;
        if (stored >= 100) {
          stored = 0;
          await trim(cache);
        }
      }
      return answer;
    } catch (err) {
      const kept = await cache.match(request);
      if (kept) {
        return kept;
      }
      throw err;
    }
  }

  self.addEventListener('fetch', (event) => {
    const request = event.request;
    if (request.method !== 'GET') {
      return;
    }
    const url = new URL(request.url);
    if (url.origin !== self.location.origin) {
      if (CONFIG.tiles.includes(url.host)) {
        event.respondWith(tile(request));
      }
      return;
    }
    const path = url.pathname;
    if (request.mode === 'navigate' && path === CONFIG.page) {
      event.respondWith(page(request));
    } else if (CONFIG.assets.includes(path + url.search)) {
      event.respondWith(asset(request));
    } else if (CONFIG.data.some((prefix) => path === prefix || path.startsWith(prefix + '/'))) {
      event.respondWith(data(request));
    }
  });
})();
