/*
 * gridmap: the officer map's events (事件：基层吹哨、部门报到), web_map/pages/events.py.
 *
 * Two overlays: the events as circles coloured by status (overdue ones outlined red), and a
 * heat view of the open events per grid. The side panel's second view (事件) holds the
 * filter (status group, main class, period), the counts and the list; the report form (a
 * click on the map or a building places the event; /api/events/duplicates is asked before
 * POST /api/events, 仍然上报 sends it anyway); and an event's page (/api/events/{code}): its
 * place, department, deadline, timeline and the buttons of the next steps the user's side
 * takes (POST /api/events/{code}/steps), the API's refusals shown as it words them.
 *
 * Every string comes from the page's configuration (labels ev_*); GridMap.state.events is
 * what the tests read, GridMap.events what they may call.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var E = (GridMap.events = GridMap.events || {});

  var layers = {}; // 'points' | 'heat' -> the overlay
  var C = null; // GridMap.config.events
  var ui = null;
  var el = null; // the side panel
  var markers = {}; // code -> circle marker
  var loadSeq = 0;
  var filter = { group: 'open', category: '', period: 'all' };
  var S = {
    ready: false,
    loads: 0,
    shown: 0,
    features: [],
    openFeatures: null,
    heat: {},
    detail: null,
    event: null,
    reports: 0,
    steps: 0,
    refusals: 0,
    placing: false,
    place: null,
    error: null,
    categories: null,
    view: 'stats',
    evView: 'list',
  };

  // --- helpers ------------------------------------------------------------------------------

  var TIME = {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  };

  function when(iso) {
    return iso ? new Date(iso).toLocaleString('zh-CN', TIME) : ui.ev_none_value;
  }

  /** The day ``daysAgo`` days before today, in China's time: YYYY-MM-DD. */
  function chinaDay(daysAgo) {
    return new Date(Date.now() + 8 * 3600e3 - daysAgo * 864e5).toISOString().slice(0, 10);
  }

  function sinceOf(period) {
    if (period === '7d') {
      return chinaDay(6);
    }
    if (period === '30d') {
      return chinaDay(29);
    }
    if (period === 'year') {
      return chinaDay(0).slice(0, 4) + '-01-01';
    }
    return null;
  }

  function q(selector) {
    return el.querySelector(selector);
  }

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) {
      n.className = className;
    }
    if (text !== undefined && text !== null) {
      n.textContent = String(text);
    }
    return n;
  }

  function statusColor(status) {
    var found = C.statuses.filter(function (s) {
      return s.code === status;
    })[0];
    return found ? found.color : '#5d6d7e';
  }

  function isFinal(status) {
    return C.final.indexOf(status) >= 0;
  }

  function phone() {
    return GridMap.layout() === 'phone';
  }

  function drawer(open) {
    var d = GridMap.drawers && GridMap.drawers.stats;
    if (d && GridMap.layout() !== 'desktop') {
      d.open(open);
    }
  }

  /** The name of a feature of one of the community's area layers, by its code. */
  function areaName(layerName, code) {
    if (!code) {
      return ui.ev_none_value;
    }
    var found = null;
    var group = GridMap.layers[layerName];
    if (group && group.eachLayer) {
      group.eachLayer(function (l) {
        var p = l.feature && l.feature.properties;
        if (p && p.code === code && p.name) {
          found = p.name;
        }
      });
    }
    if (!found && layerName === 'grids' && S.grids) {
      S.grids.features.forEach(function (f) {
        if (f.properties.code === code && f.properties.name) {
          found = f.properties.name;
        }
      });
    }
    return found ? found + '（' + code + '）' : code;
  }

  function communityName(code) {
    if (code && code === GridMap.config.community) {
      return GridMap.config.communityName + '（' + code + '）';
    }
    return code || ui.ev_none_value;
  }

  // --- the overlays -------------------------------------------------------------------------

  /** One overlay of the events: 'points' or 'heat' (web_map/templates/event_layer.html.j2). */
  E.layer = function (part) {
    var group = L.featureGroup();
    layers[part] = group;
    GridMap.layers[part === 'heat' ? 'event_heat' : 'events'] = group;
    group.on('add remove', function () {
      if (C) {
        layerChanged(part);
      }
    });
    return group;
  };

  function panes(map) {
    [
      ['gm-ev-heat', 380],
      ['gm-ev-points', 460], // above the areas' labels (450), below the service points' pins
    ].forEach(function (p) {
      if (!map.getPane(p[0])) {
        var pane = map.createPane(p[0]);
        pane.style.zIndex = p[1];
        // The pane lets clicks through to the buildings below; the circles take their own.
        pane.style.pointerEvents = 'none';
      }
    });
  }

  function markerStyle(p, selected) {
    return {
      pane: 'gm-ev-points',
      radius: selected ? 10 : 7,
      fillColor: statusColor(p.status),
      fillOpacity: 0.95,
      color: p.overdue ? C.overdueColor : selected ? '#1f2933' : '#ffffff',
      weight: p.overdue ? 3 : selected ? 3 : 1.5,
      opacity: 1,
    };
  }

  function tooltipText(p) {
    var parts = [p.code, p.category_name, p.status_zh];
    if (p.overdue) {
      parts.push(ui.ev_overdue);
    }
    return parts.join(' · ');
  }

  function drawPoints() {
    var group = layers.points;
    if (!group) {
      return;
    }
    group.clearLayers();
    markers = {};
    S.features.forEach(function (f) {
      var p = f.properties;
      var c = f.geometry.coordinates;
      var marker = L.circleMarker(
        [c[1], c[0]],
        L.extend(markerStyle(p, p.code === S.detail), {
          bubblingMouseEvents: false,
          className: 'gm-ev-marker gm-ev-status-' + p.status + (p.overdue ? ' gm-ev-marker-overdue' : ''),
        })
      );
      marker.bindTooltip(GridMap.escape(tooltipText(p)), { direction: 'top', className: 'gm-hover-label' });
      marker.on('click', function (e) {
        if (S.placing) {
          place(e.latlng, null);
          return;
        }
        E.open(p.code);
      });
      marker.on('add', function () {
        var path = marker.getElement();
        if (path) {
          path.setAttribute('data-code', p.code);
        }
      });
      markers[p.code] = marker;
      group.addLayer(marker);
    });
    S.shown = S.features.length;
  }

  function restyleMarkers() {
    Object.keys(markers).forEach(function (code) {
      var m = markers[code];
      var f = S.features.filter(function (x) {
        return x.properties.code === code;
      })[0];
      if (f) {
        m.setStyle(markerStyle(f.properties, code === S.detail));
        if (code === S.detail) {
          m.bringToFront();
        }
      }
    });
  }

  function heatColor(n) {
    var k = 0;
    while (k < C.heat.breaks.length && n >= C.heat.breaks[k]) {
      k++;
    }
    return C.heat.colors[k];
  }

  function drawHeat() {
    var group = layers.heat;
    S.heat = {};
    if (!group || !S.grids || !S.openFeatures) {
      return;
    }
    group.clearLayers();
    S.grids.features.forEach(function (g) {
      S.heat[g.properties.code] = 0;
    });
    S.openFeatures.forEach(function (f) {
      var grid = f.properties.grid;
      if (grid && S.heat[grid] !== undefined) {
        S.heat[grid] += 1;
      }
    });
    var shaded = L.geoJSON(S.grids, {
      pane: 'gm-ev-heat',
      interactive: false,
      style: function (g) {
        var n = S.heat[g.properties.code] || 0;
        return {
          fillColor: heatColor(n),
          fillOpacity: n ? 0.6 : 0,
          color: '#b30000',
          weight: n ? 1 : 0,
          opacity: 0.5,
          className: 'gm-ev-heat-area',
        };
      },
      onEachFeature: function (g, l) {
        var n = S.heat[g.properties.code] || 0;
        if (n) {
          l.bindTooltip(GridMap.escape(GridMap.text('ev_heat_count', { n: n })), {
            permanent: true,
            direction: 'center',
            className: 'gm-ev-heat-label',
            interactive: false,
            pane: 'gm-labels',
            offset: [0, 18],
          });
        }
      },
    });
    group.addLayer(shaded);
  }

  function showLegend(key, show) {
    document.querySelectorAll('.gm-legend [data-legend="' + key + '"]').forEach(function (s) {
      s.hidden = !show;
    });
  }

  function layerChanged(part) {
    var map = GridMap.map;
    var on = {
      points: !!layers.points && map.hasLayer(layers.points),
      heat: !!layers.heat && map.hasLayer(layers.heat),
    };
    el.querySelectorAll('[data-ev-show]').forEach(function (b) {
      var active = on[b.getAttribute('data-ev-show')];
      b.classList.toggle('active', active);
      b.setAttribute('aria-pressed', active ? 'true' : 'false');
    });
    q('[data-ev="heat-legend"]').hidden = !on.heat;
    showLegend('event_heat', on.heat);
    showLegend('events', on.points);
    if (part === 'heat' && on.heat && (!S.openFeatures || !S.grids)) {
      E.reload();
    }
  }

  /** Show one way of seeing the events ('points' or 'heat'), the other hidden. */
  E.show = function (view) {
    var map = GridMap.map;
    var want = { points: view === 'points', heat: view === 'heat' };
    ['points', 'heat'].forEach(function (part) {
      if (want[part] && !map.hasLayer(layers[part])) {
        map.addLayer(layers[part]);
      } else if (!want[part] && map.hasLayer(layers[part])) {
        map.removeLayer(layers[part]);
      }
    });
  };

  // --- loading ------------------------------------------------------------------------------

  function params(group) {
    var p = { community: GridMap.config.community, limit: 5000 };
    if (filter.category) {
      p.category = filter.category;
    }
    var since = sinceOf(filter.period);
    if (since) {
      p.since = since;
    }
    if (group === 'open' || group === 'overdue') {
      p.status = C.open;
    } else if (group === 'closed') {
      p.status = C.final;
    }
    if (group === 'overdue') {
      p.overdue = true;
    }
    return p;
  }

  function heatOn() {
    return !!layers.heat && GridMap.map.hasLayer(layers.heat);
  }

  /** Read the events of the filter again (and the open ones per grid, when shown); redraw. */
  E.reload = function () {
    var seq = ++loadSeq;
    var main = GridMap.fetchJSON('/api/events', params(filter.group));
    var open = null;
    var grids = Promise.resolve(S.grids);
    if (heatOn()) {
      open = filter.group === 'open' ? main : GridMap.fetchJSON('/api/events', params('open'));
      if (!S.grids) {
        grids = GridMap.fetchJSON('/api/layers/grids', { community: GridMap.config.community, limit: 10000 });
      }
    }
    return Promise.all([main, open, grids])
      .then(function (got) {
        S.grids = got[2] || S.grids;
        if (seq !== loadSeq) {
          return;
        }
        S.features = got[0].features;
        S.openFeatures = got[1] ? got[1].features : null;
        S.error = null;
        drawPoints();
        drawHeat();
        drawList();
        S.loads += 1;
        S.ready = true;
        GridMap.map.fire('gridmap:events', { n: S.features.length });
      })
      .catch(function (err) {
        if (seq !== loadSeq) {
          return;
        }
        S.error = GridMap.errorText(err);
        S.ready = true;
        q('[data-ev="summary"]').textContent = GridMap.text('ev_load_failed', { error: S.error });
        console.warn('gridmap: events', err);
        GridMap.notify(GridMap.text('load_failed', { what: GridMap.config.layerNames.events }));
      });
  };

  // --- the list -----------------------------------------------------------------------------

  function drawList() {
    var counts = { overdue: 0 };
    S.features.forEach(function (f) {
      var p = f.properties;
      counts[p.status] = (counts[p.status] || 0) + 1;
      if (p.overdue) {
        counts.overdue += 1;
      }
    });
    el.querySelectorAll('[data-ev-status-count]').forEach(function (b) {
      b.textContent = GridMap.fmt.int(counts[b.getAttribute('data-ev-status-count')] || 0);
    });
    var n = S.features.length;
    var summary = GridMap.text('ev_count', { n: GridMap.fmt.int(n) });
    if (counts.overdue) {
      summary += ' · ' + GridMap.text('ev_count_overdue', { n: GridMap.fmt.int(counts.overdue) });
    }
    q('[data-ev="summary"]').textContent = n ? summary : ui.ev_none;
    q('[data-ev="tab-count"]').textContent = n ? '(' + GridMap.fmt.int(n) + ')' : '';
    var list = q('[data-ev="list"]');
    list.textContent = '';
    S.features.slice(0, C.listMax).forEach(function (f) {
      var p = f.properties;
      var li = node('li');
      var b = node('button', 'gm-ev-item');
      b.type = 'button';
      b.setAttribute('data-ev-code', p.code);
      var dot = node('span', 'gm-ev-dot' + (p.overdue ? ' gm-ev-dot-overdue' : ''));
      dot.style.background = statusColor(p.status);
      if (p.overdue) {
        dot.style.borderColor = C.overdueColor;
      }
      b.appendChild(dot);
      var main = node('span', 'gm-ev-item-main');
      main.appendChild(node('b', null, p.category_name));
      main.appendChild(node('small', null, p.code + ' · ' + when(p.reported_at)));
      b.appendChild(main);
      b.appendChild(node('span', 'gm-ev-badge', p.status_zh));
      if (p.overdue) {
        b.appendChild(node('span', 'gm-ev-badge gm-ev-badge-overdue', ui.ev_overdue));
      }
      li.appendChild(b);
      list.appendChild(li);
    });
    var more = q('[data-ev="more"]');
    more.hidden = n <= C.listMax;
    more.textContent = GridMap.text('ev_list_more', { n: C.listMax });
  }

  function setCategories(data) {
    S.categories = data;
    var select = q('select[name="ev_filter_category"]');
    var group = q('select[name="group"]');
    (data.categories || []).forEach(function (k) {
      var o = node('option', null, k.name);
      o.value = k.code;
      select.appendChild(o);
      if (group) {
        var g = node('option', null, k.name);
        g.value = k.code;
        group.appendChild(g);
      }
    });
    var departments = q('select[name="department"]');
    (data.departments || []).forEach(function (d) {
      var o = node('option', null, d.name);
      o.value = d.code;
      departments.appendChild(o);
    });
  }

  function subclasses(groupCode) {
    var found = ((S.categories && S.categories.categories) || []).filter(function (k) {
      return k.code === groupCode;
    })[0];
    return found ? found.children.filter(function (c) {
      return c.active !== false;
    }) : [];
  }

  /** The department a subclass goes to by default (/api/event-categories). */
  function categoryDepartment(code) {
    var found = null;
    ((S.categories && S.categories.categories) || []).forEach(function (k) {
      k.children.forEach(function (c) {
        if (c.code === code) {
          found = c.department;
        }
      });
    });
    return found;
  }

  // --- the panel's views --------------------------------------------------------------------

  /** Show the panel's view: 'stats' (the figures) or 'events'. */
  E.view = function (name) {
    S.view = name;
    el.querySelectorAll('[data-panel-view]').forEach(function (v) {
      v.hidden = v.getAttribute('data-panel-view') !== name;
    });
    el.querySelectorAll('[data-view]').forEach(function (b) {
      var on = b.getAttribute('data-view') === name;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', on ? 'true' : 'false');
    });
  };

  function evView(name) {
    S.evView = name;
    el.querySelectorAll('[data-ev-view]').forEach(function (v) {
      v.hidden = v.getAttribute('data-ev-view') !== name;
    });
    message(null);
  }

  function message(text) {
    var box = q('[data-ev="message"]');
    box.hidden = !text;
    box.textContent = text || '';
  }

  // --- reporting ----------------------------------------------------------------------------

  var placedMarker = null;
  var placingBar = null;

  function placingHint(show) {
    if (!placingBar) {
      placingBar = node('div', 'gm-ev-placing-bar');
      placingBar.setAttribute('role', 'status');
      placingBar.appendChild(node('span', null, ui.ev_placing));
      var cancel = node('button', 'btn btn-sm gm-ev-quiet', ui.ev_place_cancel);
      cancel.type = 'button';
      cancel.setAttribute('data-ev-action', 'place-cancel');
      cancel.addEventListener('click', function () {
        stopPlacing();
        if (!S.place) {
          evView('list');
        }
        drawer(true);
      });
      placingBar.appendChild(cancel);
      L.DomEvent.disableClickPropagation(placingBar);
      GridMap.map.getContainer().appendChild(placingBar);
    }
    placingBar.hidden = !show;
  }

  function startPlacing() {
    S.placing = true;
    GridMap.map.closePopup();
    L.DomUtil.addClass(GridMap.map.getContainer(), 'gm-ev-placing');
    GridMap.clickHook = function (latlng, props) {
      place(latlng, props);
      return true;
    };
    placingHint(true);
    if (phone()) {
      drawer(false);
    }
  }

  function stopPlacing() {
    S.placing = false;
    L.DomUtil.removeClass(GridMap.map.getContainer(), 'gm-ev-placing');
    GridMap.clickHook = null;
    placingHint(false);
  }

  function place(latlng, props) {
    S.place = {
      lat: latlng.lat,
      lon: latlng.lng,
      building: props && props.code ? String(props.code) : null,
      name: props ? props.name || props.code : null,
    };
    stopPlacing();
    if (placedMarker) {
      placedMarker.remove();
    }
    placedMarker = L.circleMarker(latlng, {
      pane: 'gm-ev-points',
      radius: 9,
      color: '#1f2933',
      weight: 2,
      dashArray: '3 3',
      fillColor: '#ffffff',
      fillOpacity: 0.7,
      interactive: false,
      className: 'gm-ev-placed',
    }).addTo(GridMap.map);
    var text = GridMap.text('ev_place_point', { lon: S.place.lon.toFixed(6), lat: S.place.lat.toFixed(6) });
    if (S.place.building) {
      text += ' · ' + GridMap.text('ev_place_building', { name: S.place.name });
    }
    q('[data-ev="place"]').textContent = text;
    drawer(true);
  }

  function resetForm() {
    var form = q('[data-ev-view="report"]');
    form.reset();
    fillSubclasses('');
    q('[data-ev="place"]').textContent = ui.ev_place_hint;
    q('[data-ev="form-error"]').textContent = '';
    q('[data-ev="duplicates"]').hidden = true;
    q('[data-ev="form-actions"]').hidden = false;
    S.place = null;
    if (placedMarker) {
      placedMarker.remove();
      placedMarker = null;
    }
  }

  function fillSubclasses(groupCode) {
    var select = q('select[name="category"]');
    select.textContent = '';
    var first = node('option', null, ui.ev_choose);
    first.value = '';
    select.appendChild(first);
    subclasses(groupCode).forEach(function (c) {
      var o = node('option', null, c.name);
      o.value = c.code;
      select.appendChild(o);
    });
  }

  /** Open the report form and wait for a click on the map (or a building) to place it. */
  E.startReport = function () {
    if (!C.mayReport) {
      return;
    }
    E.view('events');
    evView('report');
    resetForm();
    startPlacing();
  };

  function cancelReport() {
    stopPlacing();
    resetForm();
    evView('list');
  }

  function readForm() {
    var form = q('[data-ev-view="report"]');
    var value = function (name) {
      return form.querySelector('[name="' + name + '"]').value.trim();
    };
    if (!S.place) {
      return { error: ui.ev_missing_place };
    }
    if (!value('category')) {
      return { error: ui.ev_missing_category };
    }
    if (!value('description')) {
      return { error: ui.ev_missing_description };
    }
    var phoneNo = value('reporter_phone');
    if (phoneNo && !/^[0-9+\- ]{3,32}$/.test(phoneNo)) {
      return { error: ui.ev_bad_phone };
    }
    var body = {
      lon: Number(S.place.lon.toFixed(7)),
      lat: Number(S.place.lat.toFixed(7)),
      category: value('category'),
      description: value('description'),
      source: 'map',
    };
    if (S.place.building) {
      body.building = S.place.building;
    }
    ['address', 'reporter_name', 'reporter_phone'].forEach(function (k) {
      if (value(k)) {
        body[k] = value(k);
      }
    });
    return { body: body };
  }

  function formError(text) {
    q('[data-ev="form-error"]').textContent = text || '';
  }

  function busyForm(busy, text) {
    q('[data-ev-action="report-save"]').disabled = busy;
    if (text !== undefined) {
      formError(text);
    }
  }

  function showDuplicates(duplicates) {
    var list = q('[data-ev="duplicate-list"]');
    list.textContent = '';
    duplicates.forEach(function (d) {
      var li = node('li', 'gm-ev-duplicate');
      li.setAttribute('data-ev-code', d.code);
      li.appendChild(
        node('b', null, GridMap.text('ev_duplicate_item', { code: d.code, status: d.status_zh, m: GridMap.fmt.num(d.distance_m, 0) }))
      );
      li.appendChild(node('div', 'gm-ev-duplicate-text', d.description));
      list.appendChild(li);
    });
    q('[data-ev="duplicates"]').hidden = false;
    q('[data-ev="form-actions"]').hidden = true;
    S.duplicates = duplicates.length;
  }

  /** Check for open events of the kind nearby, then report (or show them first). */
  function saveReport() {
    var read = readForm();
    if (read.error) {
      formError(read.error);
      return Promise.resolve(null);
    }
    busyForm(true, ui.ev_checking);
    var b = read.body;
    return GridMap.fetchJSON('/api/events/duplicates', { lon: b.lon, lat: b.lat, category: b.category })
      .then(function (got) {
        if (got.duplicates && got.duplicates.length) {
          busyForm(false, '');
          showDuplicates(got.duplicates);
          return null;
        }
        return post(b, false);
      })
      .catch(function (err) {
        busyForm(false, GridMap.text('ev_report_failed', { error: GridMap.errorText(err) }));
        return null;
      });
  }

  function post(body, allowDuplicate) {
    busyForm(true, ui.ev_saving);
    return GridMap.postJSON('/api/events', Object.assign({}, body, { allow_duplicate: allowDuplicate }))
      .then(function (event) {
        S.reports += 1;
        busyForm(false, '');
        GridMap.notify(GridMap.text('ev_reported', { code: event.code }), 'ok');
        resetForm();
        showEvent(event);
        return E.reload().then(function () {
          return event.code;
        });
      })
      .catch(function (err) {
        busyForm(false, GridMap.text('ev_report_failed', { error: GridMap.errorText(err) }));
        if (err && err.status === 409 && !allowDuplicate) {
          // Someone reported the same problem meanwhile: show it, as the check would have.
          return GridMap.fetchJSON('/api/events/duplicates', { lon: body.lon, lat: body.lat, category: body.category })
            .then(function (got) {
              if (got.duplicates && got.duplicates.length) {
                showDuplicates(got.duplicates);
              }
              return null;
            })
            .catch(function () {
              return null;
            });
        }
        return null;
      });
  }

  // --- one event ----------------------------------------------------------------------------

  /** Open the page of event ``code`` in the panel (read afresh from the API). */
  E.open = function (code) {
    E.view('events');
    evView('detail');
    drawer(true);
    S.detail = code;
    restyleMarkers();
    q('[data-ev="code"]').textContent = code;
    return GridMap.fetchJSON('/api/events/' + encodeURIComponent(code))
      .then(function (event) {
        if (S.detail === code) {
          showEvent(event);
        }
        return event;
      })
      .catch(function (err) {
        message(GridMap.text('ev_open_failed', { error: GridMap.errorText(err) }));
        return null;
      });
  };

  function fact(dl, key, label, value, className) {
    var row = node('div', 'gm-ev-fact' + (className ? ' ' + className : ''));
    row.setAttribute('data-fact', key);
    row.appendChild(node('dt', null, label));
    row.appendChild(node('dd', null, value === null || value === undefined || value === '' ? ui.ev_none_value : value));
    dl.appendChild(row);
  }

  function showEvent(e) {
    S.detail = e.code;
    S.event = e;
    E.view('events');
    evView('detail');
    restyleMarkers();
    q('[data-ev="category"]').textContent = (e.category_group_name ? e.category_group_name + ' · ' : '') + e.category_name;
    q('[data-ev="code"]').textContent = e.code;
    var badge = q('[data-ev="status"]');
    badge.textContent = e.status_zh + (e.overdue ? ' · ' + ui.ev_overdue : '');
    badge.style.background = statusColor(e.status);
    badge.classList.toggle('gm-ev-badge-overdue', !!e.overdue);
    badge.setAttribute('data-status', e.status);

    var dl = q('[data-ev="facts"]');
    dl.textContent = '';
    fact(dl, 'community', ui.ev_community, communityName(e.community));
    fact(dl, 'grid', ui.ev_grid, areaName('grids', e.grid));
    fact(dl, 'compound', ui.ev_compound, areaName('compounds', e.compound));
    fact(dl, 'building', ui.ev_building, e.building);
    fact(dl, 'address', ui.ev_address_label, e.address);
    fact(dl, 'department', ui.ev_department, e.department_name);
    fact(dl, 'officer', ui.ev_officer, e.officer);
    if (isFinal(e.status)) {
      fact(dl, 'closed_at', ui.ev_closed_at, when(e.closed_at));
    } else {
      var due = e.due_at ? when(e.due_at) : null;
      fact(dl, 'due', ui.ev_due, e.overdue && due ? GridMap.text('ev_due_overdue', { time: due }) : due, e.overdue ? 'gm-ev-fact-overdue' : '');
    }
    fact(dl, 'reported_at', ui.ev_reported_at, when(e.reported_at));
    fact(dl, 'reporter', ui.ev_reporter, e.reporter);
    fact(dl, 'reporter_name', ui.ev_reporter_who, [e.reporter_name, e.reporter_phone].filter(Boolean).join(' '));
    fact(dl, 'source', ui.ev_source, C.sources[e.source] || e.source);
    fact(dl, 'description', ui.ev_description_label, e.description, 'gm-ev-fact-wide');

    drawTimeline(e.steps || []);
    drawNext(e);
  }

  function drawTimeline(steps) {
    var list = q('[data-ev="timeline"]');
    list.textContent = '';
    if (!steps.length) {
      list.appendChild(node('li', 'gm-ev-step-empty', ui.ev_no_steps));
    }
    steps.forEach(function (s) {
      var li = node('li', 'gm-ev-step-item' + (s.late ? ' gm-ev-step-late' : ''));
      li.setAttribute('data-action', s.action);
      li.setAttribute('data-late', s.late ? 'true' : 'false');
      var head = node('div', 'gm-ev-step-head');
      head.appendChild(node('b', 'gm-ev-step-action', s.action_zh));
      head.appendChild(node('span', 'gm-ev-step-to', '\u2192 ' + s.to_status_zh));
      if (s.late) {
        head.appendChild(node('span', 'gm-ev-badge gm-ev-badge-overdue', ui.ev_late));
      }
      li.appendChild(head);
      var who = GridMap.text('ev_step_by', { who: s.by_user, role: C.roles[s.by_role] || s.by_role });
      li.appendChild(node('div', 'gm-ev-step-meta', who + ' · ' + when(s.at)));
      if (s.action === 'dispatch' && s.department_name) {
        li.appendChild(node('div', 'gm-ev-step-meta', GridMap.text('ev_step_department', { department: s.department_name })));
      }
      if (s.note) {
        li.appendChild(node('div', 'gm-ev-step-note', s.note));
      }
      list.appendChild(li);
    });
  }

  var stepAction = null;

  function drawNext(e) {
    var box = q('[data-ev="next"]');
    box.textContent = '';
    closeStep();
    var next = e.next_actions || [];
    var mine = next.filter(function (a) {
      return C.actions[a] && C.sides.indexOf(C.actions[a].side) >= 0;
    });
    mine.forEach(function (a) {
      var b = node('button', 'btn btn-sm gm-ev-action' + (a === 'cancel' || a === 'return' || a === 'send_back' ? ' gm-ev-action-back' : ''), C.actions[a].label);
      b.type = 'button';
      b.setAttribute('data-ev-step', a);
      box.appendChild(b);
    });
    if (!mine.length) {
      var text = ui.ev_finished;
      if (next.length) {
        var side = C.actions[next[0]] ? C.actions[next[0]].side : 'community';
        text = side === 'department' ? ui.ev_wait_department : ui.ev_wait_community;
      }
      box.appendChild(node('div', 'gm-ev-hint', text));
    }
  }

  function openStep(action) {
    var e = S.event;
    if (!e) {
      return;
    }
    stepAction = action;
    var box = q('[data-ev="step"]');
    box.hidden = false;
    q('[data-ev="step-error"]').textContent = '';
    q('[data-ev="step"] textarea[name="note"]').value = '';
    var dispatch = action === 'dispatch';
    q('[data-ev="step-department"]').hidden = !dispatch;
    if (dispatch) {
      // The category's own department first (the event's may be one that sent it back).
      q('select[name="department"]').value = categoryDepartment(e.category) || e.department || '';
    }
    q('[data-ev-action="step-confirm"]').textContent = GridMap.text('ev_confirm', { action: C.actions[action].label });
    q('[data-ev-action="step-confirm"]').disabled = false;
    el.querySelectorAll('[data-ev-step]').forEach(function (b) {
      b.classList.toggle('active', b.getAttribute('data-ev-step') === action);
    });
    inSight(box);
  }

  /**
   * Scroll the panel (only the panel: scrolling the map's container would shift the map) so
   * that ``target`` is in sight.
   */
  function inSight(target) {
    var r = target.getBoundingClientRect();
    var p = el.getBoundingClientRect();
    if (r.bottom > p.bottom) {
      el.scrollTop += Math.min(r.bottom - p.bottom + 8, r.top - p.top);
    } else if (r.top < p.top) {
      el.scrollTop -= p.top - r.top + 8;
    }
  }

  function closeStep() {
    stepAction = null;
    q('[data-ev="step"]').hidden = true;
    el.querySelectorAll('[data-ev-step]').forEach(function (b) {
      b.classList.remove('active');
    });
  }

  /** Take step ``action`` of the event shown, with ``note`` (and the department, to dispatch). */
  E.step = function (action, note, department) {
    var e = S.event;
    var body = { action: action, version: e.version };
    if (note) {
      body.note = note;
    }
    if (action === 'dispatch' && department) {
      body.department = department;
    }
    q('[data-ev-action="step-confirm"]').disabled = true;
    return GridMap.postJSON('/api/events/' + encodeURIComponent(e.code) + '/steps', body)
      .then(function (event) {
        S.steps += 1;
        GridMap.notify(GridMap.text('ev_step_done', { action: C.actions[action].label, code: event.code }), 'ok');
        showEvent(event);
        return E.reload().then(function () {
          return event;
        });
      })
      .catch(function (err) {
        S.refusals += 1;
        var text = GridMap.text('ev_step_failed', { error: GridMap.errorText(err) });
        q('[data-ev="step-error"]').textContent = text;
        q('[data-ev-action="step-confirm"]').disabled = false;
        S.error = text;
        return null;
      });
  };

  function confirmStep() {
    if (!stepAction) {
      return;
    }
    var note = q('[data-ev="step"] textarea[name="note"]').value.trim();
    var department = q('select[name="department"]').value;
    E.step(stepAction, note, department);
  }

  // --- wiring -------------------------------------------------------------------------------

  /** Start the events' part of the side panel ``elementId`` (web_map/templates/side_panel). */
  E.panel = function (elementId) {
    el = document.getElementById(elementId);
    C = GridMap.config.events;
    ui = GridMap.ui;
    GridMap.state.events = S;
    panes(GridMap.map);

    el.querySelectorAll('[data-view]').forEach(function (b) {
      b.addEventListener('click', function () {
        E.view(b.getAttribute('data-view'));
      });
    });
    el.querySelectorAll('[data-ev-group]').forEach(function (b) {
      b.addEventListener('click', function () {
        filter.group = b.getAttribute('data-ev-group');
        mark('[data-ev-group]', 'data-ev-group', filter.group);
        E.reload();
      });
    });
    el.querySelectorAll('[data-ev-period]').forEach(function (b) {
      b.addEventListener('click', function () {
        filter.period = b.getAttribute('data-ev-period');
        mark('[data-ev-period]', 'data-ev-period', filter.period);
        E.reload();
      });
    });
    el.querySelectorAll('[data-ev-show]').forEach(function (b) {
      b.addEventListener('click', function () {
        E.show(b.getAttribute('data-ev-show'));
      });
    });
    q('select[name="ev_filter_category"]').addEventListener('change', function (e) {
      filter.category = e.target.value;
      E.reload();
    });
    var group = q('select[name="group"]');
    if (group) {
      group.addEventListener('change', function (e) {
        fillSubclasses(e.target.value);
      });
      q('[data-ev-view="report"]').addEventListener('submit', function (e) {
        e.preventDefault();
        saveReport();
      });
    }
    el.addEventListener('click', function (e) {
      var target = e.target.closest('[data-ev-action], [data-ev-code], [data-ev-step]');
      if (!target || !el.contains(target)) {
        return;
      }
      if (target.hasAttribute('data-ev-step')) {
        openStep(target.getAttribute('data-ev-step'));
        return;
      }
      if (target.hasAttribute('data-ev-code') && target.tagName === 'BUTTON') {
        E.open(target.getAttribute('data-ev-code'));
        return;
      }
      var action = target.getAttribute('data-ev-action');
      if (action === 'report') {
        E.startReport();
      } else if (action === 'place') {
        startPlacing();
      } else if (action === 'report-cancel') {
        cancelReport();
      } else if (action === 'duplicate-back') {
        q('[data-ev="duplicates"]').hidden = true;
        q('[data-ev="form-actions"]').hidden = false;
      } else if (action === 'duplicate-force') {
        var read = readForm();
        if (read.error) {
          formError(read.error);
        } else {
          q('[data-ev="duplicates"]').hidden = true;
          q('[data-ev="form-actions"]').hidden = false;
          post(read.body, true);
        }
      } else if (action === 'back') {
        S.detail = null;
        S.event = null;
        restyleMarkers();
        evView('list');
      } else if (action === 'step-cancel') {
        closeStep();
      } else if (action === 'step-confirm') {
        confirmStep();
      }
    });

    function mark(selector, attribute, value) {
      el.querySelectorAll(selector).forEach(function (b) {
        var on = b.getAttribute(attribute) === value;
        b.classList.toggle('active', on);
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
      });
    }

    layerChanged(null);
    GridMap.fetchJSON('/api/event-categories')
      .then(setCategories)
      .catch(function (err) {
        console.warn('gridmap: event categories', err);
      });
    E.reload();
  };

  E.state = S;
})();
