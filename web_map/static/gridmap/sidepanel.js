/*
 * gridmap: the side panel. After each move it asks /api/stats/at for the community and grid at
 * the map centre and shows the figures of one of them (the officer picks which; by default the
 * grid once zoomed in to street level, else the community).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var GRID_ZOOM = 16;

  GridMap.sidePanel = function (elementId, position) {
    var control = GridMap.control(elementId, position, function (el, map) {
      var ui = GridMap.ui;
      var fmt = GridMap.fmt;
      var last = null;
      var chosen = null; // the level the officer picked, if any
      var controller = null;
      var timer = null;

      function field(name, text) {
        el.querySelector('[data-field="' + name + '"]').textContent = text;
      }

      function stat(name, text) {
        el.querySelector('[data-stat="' + name + '"]').textContent = text;
      }

      function level() {
        if (chosen) {
          return chosen;
        }
        return last && last.grid && map.getZoom() >= GRID_ZOOM ? 'grid' : 'community';
      }

      function render() {
        var message = el.querySelector('.gm-panel-message');
        var lvl = level();
        el.querySelectorAll('[data-level]').forEach(function (b) {
          b.classList.toggle('active', b.getAttribute('data-level') === lvl);
          b.disabled = b.getAttribute('data-level') === 'grid' && !(last && last.grid);
        });
        var figures = last ? last[lvl] : null;
        el.classList.toggle('gm-panel-empty', !figures);
        if (!last || !last.community) {
          field('name', ui.unknown);
          field('sub', '');
          message.textContent = ui.panel_outside;
          message.hidden = false;
          return;
        }
        if (!figures) {
          field('name', last.community.name);
          field('sub', ui.community);
          message.textContent = ui.panel_no_grid;
          message.hidden = false;
          return;
        }
        message.hidden = true;
        field('name', figures.name);
        field('sub', lvl === 'grid' ? ui.grid + ' · ' + last.community.name : ui.community);
        stat('households', fmt.int(figures.households));
        stat('residents', fmt.int(figures.residents));
        stat('registered_residents', fmt.int(figures.registered_residents));
        stat('floating_residents', fmt.int(figures.floating_residents));
        stat('buildings', fmt.int(figures.buildings));
        stat('party_members', fmt.int(figures.party_members));
        stat('buildings_with_lead', fmt.int(figures.buildings_with_lead));
        stat('lead_coverage', figures.buildings ? fmt.pct(figures.buildings_with_lead / figures.buildings) : ui.unknown);
        var perCadre = figures.residents_per_cadre;
        var hasPerCadre = perCadre !== null && perCadre !== undefined;
        stat('residents_per_cadre', hasPerCadre ? fmt.num(perCadre, 0) : lvl === 'grid' ? ui.per_cadre_community_only : ui.unknown);
        el.querySelector('[data-stat="residents_per_cadre"]').parentNode.classList.toggle('gm-stat-note', !hasPerCadre);
        var services = figures.service_points || {};
        el.querySelectorAll('[data-service]').forEach(function (b) {
          b.textContent = fmt.int(services[b.getAttribute('data-service')] || 0);
        });
      }

      function refresh() {
        if (controller) {
          controller.abort();
        }
        controller = new AbortController();
        var c = map.getCenter();
        el.classList.add('gm-panel-loading');
        GridMap.fetchJSON('/api/stats/at', { lon: c.lng.toFixed(6), lat: c.lat.toFixed(6) }, { signal: controller.signal })
          .then(function (data) {
            last = data;
            render();
            map.fire('gridmap:stats');
            GridMap.state.statsLoaded++;
            el.classList.remove('gm-panel-loading');
          })
          .catch(function (err) {
            if (err && err.name === 'AbortError') {
              return;
            }
            el.classList.remove('gm-panel-loading');
            console.warn('gridmap: stats', err);
            GridMap.notify(GridMap.text('load_failed', { what: ui.stats }));
          });
      }

      // The day's walk (扫楼) of the community in view: visits, edits, conflicts waiting.
      var walkOf = null;
      var walkTimer = null;
      function walk(code) {
        var box = el.querySelector('[data-role="walk"]');
        if (!code) {
          box.hidden = true;
          return;
        }
        walkOf = code;
        GridMap.fetchJSON('/api/walk', { community: code })
          .then(function (w) {
            if (walkOf !== code) {
              return;
            }
            box.hidden = false;
            box.querySelector('[data-walk="visited"]').textContent = GridMap.text('walk_visited', {
              done: fmt.int(w.visited),
              total: fmt.int(w.total),
            });
            var waiting = box.querySelector('[data-walk="conflicts"]');
            waiting.textContent = w.conflicts.length
              ? GridMap.text('walk_conflicts', { n: w.conflicts.length })
              : ui.walk_no_conflicts;
            waiting.classList.toggle('gm-walk-alert', w.conflicts.length > 0);
            var list = box.querySelector('[data-walk="items"]');
            list.textContent = '';
            w.conflicts.slice(0, 5).forEach(function (c) {
              var li = document.createElement('li');
              li.className = 'gm-walk-conflict';
              li.textContent = GridMap.text('walk_conflict', {
                name: c.name || c.code,
                who: c.username,
                fields: c.fields.map(function (f) { return f.zh; }).join('、'),
              });
              list.appendChild(li);
            });
            w.edits.slice(0, 5).forEach(function (e) {
              var li = document.createElement('li');
              li.textContent = GridMap.text('walk_edit', {
                time: new Date(e.changed_at).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit' }),
                name: e.name || e.code,
                who: e.changed_by,
                fields: e.fields_zh.join('、'),
              });
              list.appendChild(li);
            });
            GridMap.state.walkLoaded = (GridMap.state.walkLoaded || 0) + 1;
          })
          .catch(function (err) {
            console.warn('gridmap: walk', err);
          });
        clearTimeout(walkTimer);
        walkTimer = setTimeout(function () {
          walk(walkOf);
        }, 60000);
      }
      map.on('gridmap:stats', function () {
        var code = last && last.community ? last.community.code : null;
        if (code !== walkOf) {
          walk(code);
        }
      });

      el.querySelectorAll('[data-level]').forEach(function (b) {
        b.addEventListener('click', function () {
          chosen = b.getAttribute('data-level');
          render();
        });
      });
      map.on('moveend', function () {
        clearTimeout(timer);
        timer = setTimeout(refresh, 250);
      });
      refresh();
    });
    return control.addTo(GridMap.map);
  };
})();
