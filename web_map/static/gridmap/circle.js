/*
 * gridmap: the 15-minute service circle page (15分钟党群服务圈).
 *
 * Draws what /api/analysis/service-circle answers for the limit chosen: each open service
 * point's service area (the streets it reaches, coloured by kind), every building coloured by
 * its walking metres to the nearest open point, the buildings outside the circle hatched red.
 * A scenario (gates closed or opened, points added or removed) is collected here and sent to
 * /api/analysis/service-circle/scenario; its "after" is drawn instead, with the buildings that
 * gain coverage outlined green and those that lose it red. Nothing is saved anywhere.
 *
 * The panel (circle_panel.js) listens to one event on the map:
 *   gridmap:circle {what}  'loaded' (new figures), 'edit' (the scenario changed), 'mode'
 *                          (add mode on or off), 'running' (a computation started or ended),
 *                          'names' (compound names arrived)
 * GridMap.state.circle is what the browser test reads.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var C = (GridMap.circle = GridMap.circle || {});

  var HATCH_ID = 'gm-sc-hatch';
  var UNCOVERED = { pane: 'gm-sc-hatch', hatch: HATCH_ID, weight: 1.5, opacity: 0.95 };
  var MARKS = {
    gained: { fill: true, fillColor: '#00c853', fillOpacity: 0.35, color: '#00a843', weight: 3.5, opacity: 1 },
    lost: { fill: true, fillColor: '#ff1744', fillOpacity: 0.3, color: '#d50000', weight: 3.5, opacity: 1 },
  };

  var buildingIndex = {};
  var areaIndex = {};
  var compoundNames = null;
  var areaHighlight = null;
  var started = false;

  var st = {
    limit: null, // {minutes: 15} or {metres: 800}
    base: null, // the GET answer for baseKey
    baseKey: null,
    result: null, // the scenario answer {before, after, diff}
    runKey: null, // the scenario the result answers
    runAdds: [], // the points added in that scenario, in order (the API calls them by rank)
    gates: {}, // code -> {props, marker}
    points: {}, // code -> {props, marker}
    close: {},
    open: {},
    remove: {},
    add: [], // [{lon, lat, kind, name, marker}]
    added: 0,
    addMode: false,
    addKind: 'red_house',
    running: false,
    seq: 0,
  };

  function map() {
    return GridMap.map;
  }

  function cfg() {
    return GridMap.config;
  }

  function fire(what) {
    updateState();
    map().fire('gridmap:circle', { what: what });
  }

  // --- layers -------------------------------------------------------------------------------

  /** The overlay for one part of the page: areas, buildings, service_points or gates. */
  C.layer = GridMap.overlayGroups('circle_');

  function init() {
    var m = map();
    // Areas are drawn opaque in a translucent pane, so overlapping areas do not pile up into
    // a muddy blend: each street shows the colour of the smallest area over it.
    GridMap.overlayPanes([
      ['gm-sc-areas', 360, 0.3],
      ['gm-sc-hatch', 375, 1],
      ['gm-sc-marks', 380, 1],
    ]);
    // The hatch of uncovered buildings: an SVG pattern the building paths fill with.
    GridMap.hatchPattern(HATCH_ID, 0.15, 2.2);

    // A click on the map adds a point in add mode, else opens the area under it as usual.
    m.off('click', GridMap.openAreaPopup);
    m.on('click', function (e) {
      if (st.addMode) {
        C.addPoint(e.latlng);
        return;
      }
      GridMap.openAreaPopup(e);
    });
    m.on('zoomend', restyleBuildings);
    GridMap.onCompoundsLoaded(function () {
      compoundNames = null;
      fire('names');
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && st.addMode) {
        C.setAddMode(false);
      }
    });
    GridMap.state.circle = {
      ready: false,
      loads: 0,
      runs: 0,
      limitM: null,
      approximate: null,
      buildingsDrawn: 0,
      uncoveredDrawn: 0,
      areasDrawn: 0,
      edits: 0,
      stale: false,
      scenario: false,
      addMode: false,
      failed: 0,
      error: null,
      blocked: null,
    };
  }

  // --- names --------------------------------------------------------------------------------

  /** The compound's name, from the compounds layer once it has loaded. */
  C.compoundName = function (code) {
    if (!compoundNames) {
      var loaded = GridMap.compoundNames();
      var names = L.extend({}, loaded);
      // Gates carry their compound's name: enough before the compounds have loaded.
      Object.keys(st.gates).forEach(function (g) {
        var p = st.gates[g].props;
        if (p.compound && p.compound_name && !names[p.compound]) {
          names[p.compound] = p.compound_name;
        }
      });
      if (!loaded) {
        return names[code] || null;
      }
      compoundNames = names;
    }
    return compoundNames[code] || null;
  };

  /** "Compound building", e.g. the building's name within its compound. */
  C.buildingLabel = function (id) {
    var item = buildingIndex[id];
    var p = item ? item.feature.properties : { name: id };
    var compound = p.compound ? C.compoundName(p.compound) : null;
    return (compound ? compound + ' ' : '') + (p.name || id);
  };

  /** The name of a service point, stored or added in the scenario run. */
  C.pointName = function (id) {
    if (id === null || id === undefined) {
      return GridMap.ui.unknown;
    }
    if (st.points[id]) {
      return st.points[id].props.name || id;
    }
    var rank = /(\d+)$/.exec(String(id));
    var added = rank ? st.runAdds[Number(rank[1]) - 1] : null;
    return added ? added.name : String(id);
  };

  var kindOf = GridMap.serviceKind;

  // --- drawing ------------------------------------------------------------------------------

  /** The walking-distance class colour: the first class whose bound the metres do not pass. */
  C.walkColor = function (props) {
    var s = cfg().shading.schemes.walk;
    var m = props.walk_m;
    if (m === null || m === undefined || isNaN(Number(m))) {
      return s.nodata;
    }
    var k = 0;
    while (k < s.breaks.length && Number(m) > s.breaks[k]) {
      k++;
    }
    return s.colors[k];
  };

  function buildingStyle(props) {
    var z = map().getZoom();
    return {
      fill: true,
      fillColor: C.walkColor(props),
      fillOpacity: 0.9,
      color: '#2f3a47',
      weight: z >= 17 ? 0.9 : 0.5,
      opacity: z >= 16 ? 0.9 : 0.65,
    };
  }

  function restyleBuildings() {
    Object.keys(buildingIndex).forEach(function (id) {
      var item = buildingIndex[id];
      item.layer.setStyle(buildingStyle(item.feature.properties));
    });
  }

  function drawAreas(collection) {
    var group = C.layer('areas');
    group.clearLayers();
    areaIndex = {};
    var features = (collection.features || []).slice().sort(function (a, b) {
      return (b.properties.street_m || 0) - (a.properties.street_m || 0);
    });
    GridMap.drawShapes(group, features, {
      pane: 'gm-sc-areas',
      style: function (f) {
        var color = kindOf(f.properties.kind).color;
        return { color: color, weight: 1.2, opacity: 1, fillColor: color, fillOpacity: 0.75 };
      },
      onEachFeature: function (f) {
        areaIndex[f.properties.service_point_id] = f;
      },
    });
    GridMap.state.circle.areasDrawn = features.length;
  }

  function diffOf(id) {
    if (!st.result) {
      return null;
    }
    var d = st.result.diff;
    if (d.gained.indexOf(id) >= 0) {
      return 'gained';
    }
    return d.lost.indexOf(id) >= 0 ? 'lost' : null;
  }

  function drawBuildings(view) {
    var group = C.layer('buildings');
    group.clearLayers();
    buildingIndex = {};
    var features = view.buildings.features || [];
    GridMap.drawShapes(group, features, {
      pane: 'gm-buildings',
      interactive: true,
      bubblingMouseEvents: false,
      style: function (f) {
        return buildingStyle(f.properties);
      },
      onEachFeature: function (f, layer) {
        buildingIndex[f.properties.building_id] = { feature: f, layer: layer };
        layer.on('click', function (e) {
          if (st.addMode) {
            C.addPoint(e.latlng);
            return;
          }
          C.showBuilding(f.properties.building_id, { latlng: e.latlng, fly: false });
        });
      },
    });
    var uncovered = GridMap.drawUncovered(group, features, UNCOVERED);
    if (st.result) {
      var d = st.result.diff;
      var marked = features.filter(function (f) {
        return d.gained.indexOf(f.properties.building_id) >= 0 || d.lost.indexOf(f.properties.building_id) >= 0;
      });
      GridMap.drawShapes(group, marked, {
        pane: 'gm-sc-marks',
        style: function (f) {
          return L.extend({ className: 'gm-sc-mark' }, MARKS[diffOf(f.properties.building_id)]);
        },
      });
    }
    GridMap.state.circle.buildingsDrawn = features.length;
    GridMap.state.circle.uncoveredDrawn = uncovered.length;
  }

  // --- service points and gates -------------------------------------------------------------

  function pointIcon(p) {
    var kind = kindOf(p.kind);
    var extra = 'gm-poi-' + p.kind + (p.is_open === false ? ' gm-poi-closed' : '');
    if (st.remove[p.code]) {
      extra += ' gm-sc-removed';
    }
    return GridMap.icons.poi(kind.color, kind.icon, extra);
  }

  function showArea(id) {
    hideArea();
    var f = areaIndex[id];
    if (!f) {
      return;
    }
    var color = kindOf(f.properties.kind).color;
    areaHighlight = L.geoJSON(f, {
      pane: 'gm-highlight',
      interactive: false,
      style: function () {
        return { color: color, weight: 2.5, opacity: 1, fillColor: color, fillOpacity: 0.18 };
      },
    }).addTo(map());
  }

  function hideArea() {
    if (areaHighlight) {
      map().removeLayer(areaHighlight);
      areaHighlight = null;
    }
  }

  function drawPoints(collection) {
    var group = C.layer('service_points');
    collection.features.forEach(function (f) {
      var p = f.properties;
      var latlng = GridMap.pointLatLng(f);
      var marker = L.marker(latlng, {
        icon: pointIcon(p),
        zIndexOffset: p.kind === 'centre' ? 300 : 200,
        riseOnHover: true,
      });
      GridMap.hoverLabel(marker, p.name || p.code);
      marker.on('click', function (e) {
        if (st.addMode) {
          C.addPoint(e.latlng);
          return;
        }
        C.togglePoint(p.code);
        GridMap.showPopup(latlng, pointPopup(p), null);
      });
      marker.on('mouseover', function () {
        showArea(p.code);
      });
      marker.on('mouseout', hideArea);
      st.points[p.code] = { props: p, marker: marker };
      group.addLayer(marker);
    });
    GridMap.state.layersLoaded.service_points = collection.features.length;
  }

  /** Whether a gate is open in the scenario as it stands. */
  C.gateOpen = function (code) {
    var g = st.gates[code];
    if (st.close[code]) {
      return false;
    }
    if (st.open[code]) {
      return true;
    }
    return !g || g.props.is_open !== false;
  };

  function gateIcon(code) {
    var icon = GridMap.icons.gate(C.gateOpen(code));
    var changed = st.close[code] || st.open[code];
    icon.options.className += ' gm-sc-gate' + (changed ? ' gm-sc-gate-changed' : '');
    return icon;
  }

  function drawGates(collection) {
    var group = C.layer('gates');
    collection.features.forEach(function (f) {
      var p = f.properties;
      var latlng = GridMap.pointLatLng(f);
      var marker = L.marker(latlng, { icon: gateIcon(p.code), zIndexOffset: 100, riseOnHover: true });
      st.gates[p.code] = { props: p, marker: marker };
      GridMap.hoverLabel(marker, (p.compound_name ? p.compound_name + ' ' : '') + (p.name || p.code), {
        direction: 'top',
        offset: [0, -8],
      });
      marker.on('click', function (e) {
        if (st.addMode) {
          C.addPoint(e.latlng);
          return;
        }
        // Without a walking network distances are straight lines: gates change nothing.
        if (!(view() && view().approximate)) {
          C.toggleGate(p.code);
        }
        GridMap.showPopup(latlng, gatePopup(p), null);
      });
      group.addLayer(marker);
    });
    compoundNames = null;
    GridMap.state.layersLoaded.gates = collection.features.length;
  }

  // --- popups -------------------------------------------------------------------------------

  var tag = GridMap.tag;

  function buildingPopup(p) {
    var u = GridMap.ui;
    var fmt = GridMap.fmt;
    var compound = p.compound ? C.compoundName(p.compound) : null;
    var reachable = p.walk_m !== null && p.walk_m !== undefined;
    var covered = p.covered
      ? tag('in', u.circle_yes_covered)
      : tag('out', u.circle_not_covered) +
        (reachable && view() ? ' <span class="gm-muted">' + GridMap.escape(GridMap.text('circle_gap', { metres: fmt.num(p.walk_m - view().limit_m, 0) })) + '</span>' : '');
    var pairs = [
      [u.circle_nearest_point, reachable ? C.pointName(p.nearest_service_point_id) : u.circle_unreachable],
      [u.circle_walk_m, reachable ? fmt.num(p.walk_m, 0) : u.circle_unreachable],
      [u.circle_walk_min, reachable ? fmt.num(p.walk_min, 1) : u.circle_unreachable],
      [u.circle_covered, covered, true],
    ];
    var change = diffOf(p.building_id);
    if (change) {
      pairs.push([u.circle_scenario_change, tag(change, change === 'gained' ? u.circle_gained : u.circle_lost), true]);
    }
    return GridMap.buildingCard(p, compound, pairs);
  }

  function pointPopup(p) {
    var u = GridMap.ui;
    var kind = kindOf(p.kind);
    var removed = !!st.remove[p.code];
    var pairs = [
      [u.kind, '<span class="gm-kind-dot" style="background:' + kind.color + '"></span>' + GridMap.escape(kind.label), true],
      [u.circle_state_now, GridMap.badge(p.is_open !== false, u.open, u.closed), true],
      [u.circle_state_in_scenario, removed ? tag('out', u.circle_removed) : tag('in', u.circle_kept), true],
    ];
    if (p.compound_name) {
      pairs.push([u.compound_name, p.compound_name]);
    }
    var html = GridMap.card(u.service_point, p.name || p.code, pairs, 'gm-sc-popup');
    return removed ? html + '<div class="gm-sc-popup-hint">' + GridMap.escape(u.circle_click_again) + '</div>' : html;
  }

  function gatePopup(p) {
    var u = GridMap.ui;
    var base = p.is_open !== false;
    var now = C.gateOpen(p.code);
    var html = GridMap.card(u.gate, p.name || p.code, [
      [u.compound_name, p.compound_name || u.unknown],
      [u.kind, (cfg().gateKinds || {})[p.kind] || u.unknown],
      [u.circle_state_now, GridMap.badge(base, u.open, u.closed), true],
      [u.circle_state_in_scenario, now ? tag('in', u.open) : tag('out', u.closed), true],
    ], 'gm-sc-popup');
    if (view() && view().approximate) {
      return html + '<div class="gm-sc-popup-hint">' + GridMap.escape(u.circle_gate_no_network) + '</div>';
    }
    return now !== base ? html + '<div class="gm-sc-popup-hint">' + GridMap.escape(u.circle_click_again) + '</div>' : html;
  }

  /** Outline a building, open its popup; fly there first unless asked not to. */
  C.showBuilding = function (id, options) {
    var item = buildingIndex[id];
    if (!item) {
      return false;
    }
    options = options || {};
    var bounds = item.layer.getBounds();
    if (options.fly !== false) {
      if (GridMap.layout() === 'phone') {
        GridMap.closeDrawers(); // the sheet would hide it
      }
      map().flyToBounds(
        bounds,
        Object.assign(
          { maxZoom: 18, duration: 0.6 },
          GridMap.padding([60, 60], [(cfg().panelWidth || 0) + 40, 60])
        )
      );
    }
    var popup = GridMap.showPopup(options.latlng || bounds.getCenter(), buildingPopup(item.feature.properties), item.feature);
    GridMap.state.circle.shownBuilding = id;
    return !!popup;
  };

  // --- the figures --------------------------------------------------------------------------

  /** What the map shows: the scenario's "after" once computed, else the stored network's. */
  function view() {
    return st.result ? st.result.after : st.base;
  }
  C.view = view;

  C.result = function () {
    return st.result;
  };

  C.limit = function () {
    return st.limit;
  };

  function limitKey(limit) {
    return limit.minutes ? 'min:' + limit.minutes : 'm:' + limit.metres;
  }

  function limitParams(limit) {
    return limit.minutes ? { minutes: limit.minutes } : { metres: limit.metres };
  }

  function keys(o) {
    return Object.keys(o).sort();
  }

  function scenarioBody() {
    return L.extend(
      {
        community: cfg().community,
        close_gates: keys(st.close),
        open_gates: keys(st.open),
        add_points: st.add.map(function (a) {
          return { lon: a.lon, lat: a.lat, kind: a.kind, name: a.name };
        }),
        remove_points: keys(st.remove),
      },
      limitParams(st.limit)
    );
  }

  C.hasEdits = function () {
    return keys(st.close).length + keys(st.open).length + keys(st.remove).length + st.add.length > 0;
  };

  C.isStale = function () {
    return !!st.result && st.runKey !== JSON.stringify(scenarioBody());
  };

  C.isRunning = function () {
    return st.running;
  };

  function updateState() {
    var s = GridMap.state.circle;
    var v = view();
    s.limitM = v ? v.limit_m : null;
    s.approximate = v ? v.approximate : null;
    s.edits = C.edits().length;
    s.stale = C.isStale();
    s.scenario = !!st.result;
    s.addMode = st.addMode;
  }

  function render(what) {
    var v = view();
    if (!v) {
      return;
    }
    drawAreas(v.areas);
    drawBuildings(v);
    fire(what);
  }

  function failed(err) {
    var text = GridMap.text('circle_error', { error: GridMap.errorText(err) });
    GridMap.reportFailure(GridMap.state.circle, text, 'service circle', err);
    fire('failed');
  }

  /** Why the circle cannot be computed at all (a layer the community lacks), or null. */
  C.blocked = function () {
    return GridMap.state.circle ? GridMap.state.circle.blocked : null;
  };

  /**
   * Fetch what the state needs (the figures at the limit; the scenario when asked) and draw
   * it. The latest call wins: answers to earlier ones are dropped.
   */
  function refresh(withScenario) {
    if (C.blocked()) {
      // Without buildings the analysis can only refuse: the panel says what to import.
      return Promise.resolve();
    }
    var seq = ++st.seq;
    var key = limitKey(st.limit);
    var base =
      st.base && st.baseKey === key
        ? Promise.resolve(st.base)
        : GridMap.fetchJSON('/api/analysis/service-circle', L.extend({ community: cfg().community }, limitParams(st.limit)));
    var body = withScenario && C.hasEdits() ? scenarioBody() : null;
    var adds = st.add.map(function (a) {
      return { name: a.name, kind: a.kind };
    });
    var scenario = body
      ? GridMap.postJSON('/api/analysis/service-circle/scenario', body)
      : Promise.resolve(null);
    st.running = !!body;
    fire('running');
    return Promise.all([base, scenario])
      .then(function (answers) {
        if (seq !== st.seq) {
          return;
        }
        st.base = answers[0];
        st.baseKey = key;
        st.result = answers[1];
        st.runKey = body ? JSON.stringify(body) : null;
        st.runAdds = body ? adds : [];
        st.running = false;
        GridMap.state.circle.error = null;
        GridMap.state.circle.loads++;
        if (body) {
          GridMap.state.circle.runs++;
        }
        checkReady();
        render('loaded');
      })
      .catch(function (err) {
        if (seq === st.seq) {
          st.running = false;
          fire('running');
        }
        failed(err);
      });
  }

  var pointsDrawn = false;
  var gatesDrawn = false;

  function checkReady() {
    GridMap.state.circle.ready = !!st.base && pointsDrawn && gatesDrawn;
  }

  /** Show the circle at ``limit``: {minutes: 5 | 10 | 15} or {metres: n}. */
  C.setLimit = function (limit) {
    st.limit = limit.minutes ? { minutes: Number(limit.minutes) } : { metres: Number(limit.metres) };
    return refresh(!!st.result && C.hasEdits());
  };

  /** Compute the scenario as it stands. */
  C.run = function () {
    if (!C.hasEdits()) {
      return Promise.resolve();
    }
    C.setAddMode(false);
    return refresh(true);
  };

  /** Forget every change and show the stored network again. */
  C.reset = function () {
    st.close = {};
    st.open = {};
    st.remove = {};
    st.add.forEach(function (a) {
      C.layer('service_points').removeLayer(a.marker);
    });
    st.add = [];
    st.result = null;
    st.runKey = null;
    st.runAdds = [];
    C.setAddMode(false);
    refreshMarkers();
    map().closePopup();
    ++st.seq; // a scenario still computing is no longer wanted
    st.running = false;
    if (st.base && st.baseKey === limitKey(st.limit)) {
      render('loaded');
    } else {
      refresh(false);
    }
    fire('edit');
  };

  function refreshMarkers() {
    Object.keys(st.gates).forEach(function (code) {
      st.gates[code].marker.setIcon(gateIcon(code));
    });
    Object.keys(st.points).forEach(function (code) {
      st.points[code].marker.setIcon(pointIcon(st.points[code].props));
    });
  }

  function edited() {
    if (st.result && !C.hasEdits()) {
      // Every change undone: back to the stored network.
      st.result = null;
      st.runKey = null;
      render('loaded');
    }
    fire('edit');
  }

  // --- editing the scenario -----------------------------------------------------------------

  /** Close an open gate or open a closed one (again: undo). */
  C.toggleGate = function (code) {
    var g = st.gates[code];
    if (!g) {
      return false;
    }
    var target = g.props.is_open !== false ? st.close : st.open;
    if (target[code]) {
      delete target[code];
    } else {
      target[code] = true;
    }
    g.marker.setIcon(gateIcon(code));
    edited();
    return C.gateOpen(code);
  };

  /** Remove a stored service point in the scenario (again: keep it). */
  C.togglePoint = function (code) {
    var p = st.points[code];
    if (!p) {
      return false;
    }
    if (st.remove[code]) {
      delete st.remove[code];
    } else {
      st.remove[code] = true;
    }
    p.marker.setIcon(pointIcon(p.props));
    edited();
    return !!st.remove[code];
  };

  /** Propose a new service point at ``latlng`` (of ``kind``, by default the one chosen). */
  C.addPoint = function (latlng, kind) {
    var max = cfg().circle.maxNewPoints;
    if (st.add.length >= max) {
      GridMap.notify(GridMap.text('circle_too_many_points', { n: max }));
      return null;
    }
    kind = kind || st.addKind;
    var k = kindOf(kind);
    st.added++;
    var item = {
      lon: Number(latlng.lng.toFixed(6)),
      lat: Number(latlng.lat.toFixed(6)),
      kind: kind,
      name: GridMap.text('circle_new_point_name', { kind: k.label, n: st.added }),
    };
    item.marker = L.marker(latlng, {
      icon: GridMap.icons.poi(k.color, k.icon, 'gm-sc-proposed'),
      zIndexOffset: 400,
      draggable: true,
      riseOnHover: true,
    });
    GridMap.hoverLabel(item.marker, item.name);
    item.marker.on('click', function () {
      C.removeAdded(item);
    });
    item.marker.on('dragend', function () {
      var ll = item.marker.getLatLng();
      item.lon = Number(ll.lng.toFixed(6));
      item.lat = Number(ll.lat.toFixed(6));
      edited();
    });
    C.layer('service_points').addLayer(item.marker);
    st.add.push(item);
    C.setAddMode(false);
    edited();
    return item.name;
  };

  /** Take a proposed point back out of the scenario. */
  C.removeAdded = function (item) {
    var i = st.add.indexOf(item);
    if (i < 0) {
      return;
    }
    st.add.splice(i, 1);
    C.layer('service_points').removeLayer(item.marker);
    edited();
  };

  /** The scenario's changes, for the panel: [{type, label, undo}]. */
  C.edits = function () {
    var out = [];
    function gateLabel(code) {
      var p = st.gates[code].props;
      return (p.compound_name ? p.compound_name + ' ' : '') + (p.name || code);
    }
    keys(st.close).forEach(function (code) {
      out.push({ type: 'close', code: code, label: gateLabel(code), undo: function () { C.toggleGate(code); } });
    });
    keys(st.open).forEach(function (code) {
      out.push({ type: 'open', code: code, label: gateLabel(code), undo: function () { C.toggleGate(code); } });
    });
    keys(st.remove).forEach(function (code) {
      out.push({ type: 'remove', code: code, label: st.points[code].props.name || code, undo: function () { C.togglePoint(code); } });
    });
    st.add.forEach(function (item) {
      out.push({ type: 'add', code: null, kind: item.kind, label: item.name, undo: function () { C.removeAdded(item); } });
    });
    return out;
  };

  C.addMode = function () {
    return st.addMode;
  };

  C.setAddMode = function (on) {
    on = !!on;
    if (on === st.addMode) {
      return;
    }
    st.addMode = on;
    L.DomUtil[on ? 'addClass' : 'removeClass'](map().getContainer(), 'gm-sc-adding');
    if (on) {
      map().closePopup();
    }
    fire('mode');
  };

  C.setAddKind = function (kind) {
    if (cfg().serviceKinds[kind]) {
      st.addKind = kind;
    }
  };

  // --- start --------------------------------------------------------------------------------

  /** Load the points, gates and the circle at the configured life circle. */
  C.start = function () {
    if (started) {
      return;
    }
    started = true;
    init();
    GridMap.fetchLayer('service_points')
      .then(function (collection) {
        drawPoints(collection);
        pointsDrawn = true;
        checkReady();
        fire('names');
      })
      .catch(failed);
    GridMap.fetchLayer('gates')
      .then(function (collection) {
        drawGates(collection);
        gatesDrawn = true;
        checkReady();
        fire('names');
      })
      .catch(failed);
    if (GridMap.missing('buildings')) {
      GridMap.state.circle.blocked = 'buildings';
      st.limit = { minutes: cfg().circle.minutes };
      fire('blocked');
      return;
    }
    C.setLimit({ minutes: cfg().circle.minutes });
  };
})();
