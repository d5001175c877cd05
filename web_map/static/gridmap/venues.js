/*
 * gridmap: the red-house venue page (红房子选址).
 *
 * Asks /api/analysis/venues for the best k candidate rooms; its answer carries the service
 * circle with those rooms open as red houses (``circle``: every point's service area, every
 * building's coverage, the buildings newly covered), in one request. Draws: the existing service
 * points and their areas faded, every building (covered before, newly covered outlined green,
 * still uncovered hatched red), the picks numbered 1..k with their areas, and every candidate
 * room coloured by status (picked / eligible / excluded) or by score. Nothing is saved.
 *
 * The panel (venue_panel.js) listens to one event on the map:
 *   gridmap:venues {what}  'running' (a computation started), 'loaded' (a result is drawn),
 *                          'failed', 'names' (compound names arrived)
 * GridMap.state.venues is what the browser test reads.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var V = (GridMap.venues = GridMap.venues || {});

  var HATCH_ID = 'gm-vn-hatch';
  var PANES = [
    ['gm-vn-existing', 355, 0.22],
    ['gm-vn-areas', 362, 0.38],
    ['gm-vn-hatch', 375, 1],
    ['gm-vn-gained', 380, 1],
  ];

  var candidateIndex = {}; // candidate_id -> {feature, marker}
  var existingCodes = {};
  var compoundNames = null;
  var started = false;

  var st = {
    seq: 0,
    running: false,
    plan: null, // the /venues answer shown
    scenario: null, // the circle with the picks open: {after: {areas, buildings}, diff: {gained}}
    params: null, // the parameters of the result shown
    candidates: null, // the candidate_venues layer
    points: null, // the service_points layer
  };

  function map() {
    return GridMap.map;
  }

  function cfg() {
    return GridMap.config;
  }

  function vcfg() {
    return GridMap.config.venues;
  }

  function fire(what) {
    var s = GridMap.state.venues;
    s.running = st.running;
    s.ready = !st.running && !!st.plan && !!st.points && !!st.candidates;
    map().fire('gridmap:venues', { what: what });
  }

  // --- layers -------------------------------------------------------------------------------

  /** The overlay for one part of the page: existing, buildings, areas, candidates or picks. */
  V.layer = GridMap.overlayGroups('venues_');

  function init() {
    var m = map();
    GridMap.overlayPanes(PANES);
    GridMap.hatchPattern(HATCH_ID, 0.35, 2);
    m.on('gridmap:shading', styleCandidates);
    function pickLabels() {
      L.DomUtil[m.getZoom() >= 15 ? 'addClass' : 'removeClass'](m.getContainer(), 'gm-vn-labels');
    }
    m.on('zoomend', pickLabels);
    pickLabels();
    GridMap.onCompoundsLoaded(function () {
      compoundNames = null;
      fire('names');
    });
    GridMap.state.venues = {
      ready: false,
      running: false,
      runs: 0,
      failed: 0,
      key: null,
      picks: 0,
      candidatesDrawn: 0,
      existingDrawn: 0,
      areasDrawn: 0,
      buildingsDrawn: 0,
      gainedDrawn: 0,
      uncoveredDrawn: 0,
      error: null,
      blocked: null,
    };
  }

  // --- names and formats --------------------------------------------------------------------

  /** The compound's name, from the compounds layer once it has loaded (else its code). */
  V.compoundName = function (code) {
    if (!code) {
      return GridMap.ui.unknown;
    }
    if (!compoundNames) {
      compoundNames = GridMap.compoundNames();
      if (!compoundNames) {
        return code;
      }
    }
    return compoundNames[code] || code;
  };

  V.kindLabel = function (kind) {
    return (cfg().venueKinds || {})[kind] || kind || GridMap.ui.unknown;
  };

  V.score = function (value) {
    return value === null || value === undefined ? GridMap.ui.unknown : Number(value).toFixed(2);
  };

  // --- the answer ---------------------------------------------------------------------------

  V.result = function () {
    return st.plan ? { plan: st.plan, scenario: st.scenario, params: st.params } : null;
  };

  V.isRunning = function () {
    return st.running;
  };

  /** The API's query parameters of ``params`` (the form's values). */
  function query(params) {
    var q = {
      community: cfg().community,
      k: params.k,
      demand: params.demand,
      weight_score: params.weight_score,
      max_per_compound: params.max_per_compound,
    };
    if (params.minutes) {
      q.minutes = params.minutes;
    } else {
      q.metres = params.metres;
    }
    if (params.include_incomplete_legal) {
      q.include_incomplete_legal = 'true';
    }
    return q;
  }

  V.key = function (params) {
    return params ? JSON.stringify(query(params)) : null;
  };

  /** The export link of the result shown, in ``format`` (csv, xlsx, geojson). */
  V.exportUrl = function (format) {
    if (!st.params) {
      return null;
    }
    var q = new URLSearchParams();
    var params = query(st.params);
    Object.keys(params).forEach(function (k) {
      q.set(k, params[k]);
    });
    q.set('format', format);
    return cfg().apiRoot + '/api/analysis/venues/export?' + q.toString();
  };

  /** The status of a candidate in the result shown: picked, eligible, incomplete, excluded. */
  V.status = function (id) {
    var info = scoreOf(id);
    if (pickOf(id)) {
      return 'picked';
    }
    if (!info) {
      return null;
    }
    if (!info.eligible) {
      return 'excluded';
    }
    return info.legal_complete === false ? 'incomplete' : 'eligible';
  };

  function scoreOf(id) {
    if (!st.plan) {
      return null;
    }
    for (var i = 0; i < st.plan.scores.length; i++) {
      if (st.plan.scores[i].candidate_id === id) {
        return st.plan.scores[i];
      }
    }
    return null;
  }

  function pickOf(id) {
    if (!st.plan) {
      return null;
    }
    var found = null;
    st.plan.picks.features.forEach(function (f) {
      if (f.properties.candidate_id === id) {
        found = f;
      }
    });
    return found;
  }

  function reasonOf(id) {
    var rows = st.plan ? st.plan.excluded : [];
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].candidate_id === id) {
        return rows[i].reason;
      }
    }
    return null;
  }

  /** Candidates by score, best first: their rank. */
  function ranks() {
    var out = {};
    if (!st.plan) {
      return out;
    }
    st.plan.scores
      .slice()
      .sort(function (a, b) {
        return (b.score || 0) - (a.score || 0);
      })
      .forEach(function (row, i) {
        out[row.candidate_id] = i + 1;
      });
    return out;
  }

  // --- drawing ------------------------------------------------------------------------------

  var kindOf = GridMap.serviceKind;

  function drawExisting() {
    var group = V.layer('existing');
    group.clearLayers();
    var areas = st.scenario ? st.scenario.after.areas.features : [];
    var own = areas.filter(function (f) {
      return existingCodes[f.properties.service_point_id];
    });
    GridMap.drawShapes(group, own, {
      pane: 'gm-vn-existing',
      style: function (f) {
        var color = kindOf(f.properties.kind).color;
        return { color: color, weight: 1, opacity: 1, fillColor: color, fillOpacity: 0.8 };
      },
    });
    (st.points ? st.points.features : []).forEach(function (f) {
      var p = f.properties;
      var kind = kindOf(p.kind);
      var marker = L.marker(GridMap.pointLatLng(f), {
        icon: GridMap.icons.poi(kind.color, kind.icon, 'gm-vn-faded gm-poi-' + p.kind),
        zIndexOffset: 100,
      });
      GridMap.hoverLabel(marker, p.name || p.code);
      marker.on('click', function () {
        GridMap.showPopup(marker.getLatLng(), GridMap.popups.service_points(p), null);
      });
      group.addLayer(marker);
    });
    GridMap.state.venues.existingDrawn = own.length;
  }

  function drawAreas() {
    var group = V.layer('areas');
    group.clearLayers();
    var areas = st.scenario ? st.scenario.after.areas.features : [];
    var added = areas.filter(function (f) {
      return !existingCodes[f.properties.service_point_id];
    });
    var red = kindOf('red_house').color;
    GridMap.drawShapes(group, added, {
      pane: 'gm-vn-areas',
      style: function () {
        return { color: red, weight: 1.4, opacity: 1, fillColor: red, fillOpacity: 0.55 };
      },
    });
    GridMap.state.venues.areasDrawn = added.length;
  }

  function buildingState(id, covered) {
    if (st.scenario && st.scenario.diff.gained.indexOf(id) >= 0) {
      return 'gained';
    }
    return covered ? 'covered' : 'uncovered';
  }

  function buildingStyle(f) {
    var colors = vcfg().coverageColors;
    var state = buildingState(f.properties.building_id, f.properties.covered);
    var z = map().getZoom();
    return {
      fill: true,
      fillColor: state === 'uncovered' ? '#f3d6d6' : colors[state],
      fillOpacity: state === 'covered' ? 0.75 : 0.9,
      color: '#3b4654',
      weight: z >= 17 ? 0.8 : 0.4,
      opacity: 0.7,
    };
  }

  function buildingPopup(p) {
    var u = GridMap.ui;
    var state = buildingState(p.building_id, p.covered);
    var tags = {
      gained: GridMap.tag('gained', u.venue_newly_covered),
      covered: GridMap.tag('in', u.venue_covered_before),
      uncovered: GridMap.tag('out', u.venue_still_uncovered),
    };
    var compound = p.compound ? V.compoundName(p.compound) : null;
    var reachable = p.walk_m !== null && p.walk_m !== undefined;
    return GridMap.buildingCard(p, compound, [
      [u.circle_walk_m, reachable ? GridMap.fmt.num(p.walk_m, 0) : u.circle_unreachable],
      [u.circle_covered, tags[state], true],
    ]);
  }

  function drawBuildings() {
    var group = V.layer('buildings');
    group.clearLayers();
    var view = st.scenario ? st.scenario.after : null;
    var features = view ? view.buildings.features || [] : [];
    GridMap.drawShapes(group, features, {
      pane: 'gm-buildings',
      interactive: true,
      bubblingMouseEvents: false,
      style: buildingStyle,
      onEachFeature: function (f, layer) {
        layer.on('click', function (e) {
          GridMap.showPopup(e.latlng, buildingPopup(f.properties), f);
        });
      },
    });
    var uncovered = GridMap.drawUncovered(group, features, { pane: 'gm-vn-hatch', hatch: HATCH_ID, weight: 1.2, opacity: 0.9 });
    var gainedIds = st.scenario ? st.scenario.diff.gained : [];
    var gained = features.filter(function (f) {
      return gainedIds.indexOf(f.properties.building_id) >= 0;
    });
    var green = vcfg().coverageColors.gained;
    GridMap.drawShapes(group, gained, {
      pane: 'gm-vn-gained',
      style: function () {
        return { className: 'gm-vn-gained', fill: true, fillColor: green, fillOpacity: 0.85, color: '#0b5d24', weight: 2.2, opacity: 1 };
      },
    });
    var s = GridMap.state.venues;
    s.buildingsDrawn = features.length;
    s.uncoveredDrawn = uncovered.length;
    s.gainedDrawn = gained.length;
  }

  function candidateColor(id) {
    var scheme = cfg().shading.schemes[GridMap.state.shading];
    if (GridMap.state.shading === 'score') {
      var info = scoreOf(id);
      var value = info ? info.score : null;
      if (value === null || value === undefined) {
        return scheme.nodata;
      }
      var k = 0;
      while (k < scheme.breaks.length && Number(value) >= scheme.breaks[k]) {
        k++;
      }
      return scheme.colors[k];
    }
    var status = V.status(id);
    return status ? scheme.colors[status] : scheme.nodata;
  }

  function styleCandidates() {
    Object.keys(candidateIndex).forEach(function (id) {
      var item = candidateIndex[id];
      var status = V.status(id);
      item.marker.setStyle({
        fillColor: candidateColor(id),
        radius: status === 'excluded' ? 5.5 : 7,
        opacity: status === 'excluded' ? 0.8 : 1,
        fillOpacity: status === 'excluded' ? 0.75 : 0.95,
      });
    });
  }

  function candidatePopup(id, props) {
    var u = GridMap.ui;
    var info = scoreOf(id) || {};
    var status = V.status(id);
    var pick = pickOf(id);
    var rank = ranks()[id];
    var total = st.plan ? st.plan.scores.length : 0;
    var statusTag = {
      picked: 'gm-sc-tag-gained',
      eligible: 'gm-sc-tag-in',
      incomplete: 'gm-vn-tag-warn',
      excluded: 'gm-sc-tag-out',
    };
    var statusText = {
      picked: GridMap.text('venue_pick_rank', {}) + ' ' + (pick ? pick.properties.rank : ''),
    };
    var classes = cfg().shading.schemes.status.classes;
    var order = ['picked', 'eligible', 'incomplete', 'excluded'];
    var pairs = [
      [
        u.venue_status,
        status
          ? '<span class="gm-sc-tag ' + statusTag[status] + '">' + GridMap.escape(classes[order.indexOf(status)].label) + '</span>' +
            (pick ? ' <span class="gm-muted">' + GridMap.escape(statusText.picked) + '</span>' : '')
          : GridMap.escape(u.unknown),
        true,
      ],
      [u.kind, V.kindLabel(props.kind)],
      [u.compound_name, props.compound_name || V.compoundName(info.compound)],
      [u.venue_score, V.score(info.score)],
      [u.venue_rank, rank ? GridMap.text('venue_rank_value', { rank: rank, total: total }) : u.unknown],
      [u.floor_area_m2, props.floor_area_m2 ? GridMap.fmt.num(props.floor_area_m2) + ' ' + u.square_metres : u.unknown],
      [
        u.venue_legal,
        info.legal_complete
          ? GridMap.escape(u.venue_legal_complete)
          : info.legal_missing
            ? '<span class="gm-vn-warn">' + GridMap.escape(GridMap.text('venue_legal_missing', { missing: info.legal_missing })) + '</span>'
            : GridMap.escape(u.unknown),
        true,
      ],
    ];
    var reason = reasonOf(id);
    if (reason) {
      pairs.push([u.venue_reason, '<span class="gm-vn-warn">' + GridMap.escape(reason) + '</span>', true]);
    }
    return GridMap.card(u.venue_candidate, props.name || id, pairs, 'gm-sc-popup gm-vn-popup');
  }

  function drawCandidates() {
    var group = V.layer('candidates');
    group.clearLayers();
    candidateIndex = {};
    (st.candidates ? st.candidates.features : []).forEach(function (f) {
      var id = f.properties.code;
      var latlng = GridMap.pointLatLng(f);
      var marker = L.circleMarker(latlng, {
        radius: 7,
        color: '#ffffff',
        weight: 2,
        fillColor: candidateColor(id),
        fillOpacity: 0.95,
        className: 'gm-vn-candidate',
      });
      GridMap.hoverLabel(marker, f.properties.name || id);
      marker.on('click', function () {
        GridMap.showPopup(latlng, candidatePopup(id, f.properties), null);
      });
      candidateIndex[id] = { feature: f, marker: marker };
      group.addLayer(marker);
    });
    styleCandidates();
    GridMap.state.venues.candidatesDrawn = Object.keys(candidateIndex).length;
  }

  function pickIcon(rank) {
    return L.divIcon({
      className: 'gm-vn-pick',
      html: '<span class="gm-vn-pick-pin"><b>' + rank + '</b></span>',
      iconSize: [32, 32],
      iconAnchor: [16, 16],
      popupAnchor: [0, -15],
      tooltipAnchor: [16, 0],
    });
  }

  function drawPicks() {
    var group = V.layer('picks');
    group.clearLayers();
    var features = st.plan ? st.plan.picks.features : [];
    features.forEach(function (f) {
      var p = f.properties;
      var latlng = GridMap.pointLatLng(f);
      var marker = L.marker(latlng, { icon: pickIcon(p.rank), zIndexOffset: 1000 + (100 - p.rank), riseOnHover: true });
      marker.bindTooltip(GridMap.escape(p.name || p.candidate_id), {
        permanent: true,
        direction: 'right',
        className: 'gm-vn-pick-label',
      });
      marker.on('click', function () {
        var props = candidateIndex[p.candidate_id] ? candidateIndex[p.candidate_id].feature.properties : p;
        GridMap.showPopup(latlng, candidatePopup(p.candidate_id, props), null);
      });
      group.addLayer(marker);
    });
    GridMap.state.venues.picks = features.length;
  }

  function render() {
    drawExisting();
    drawAreas();
    drawBuildings();
    drawCandidates();
    drawPicks();
  }

  /** Fly to a candidate (or pick) and open its popup. */
  V.show = function (id) {
    var item = candidateIndex[id];
    if (!item) {
      return false;
    }
    var latlng = item.marker.getLatLng();
    if (GridMap.layout() === 'phone') {
      GridMap.closeDrawers(); // the sheet would hide it
    }
    map().flyTo(latlng, Math.max(map().getZoom(), 17), { duration: 0.6 });
    map().once('moveend', function () {
      GridMap.showPopup(latlng, candidatePopup(id, item.feature.properties), null);
    });
    return true;
  };

  // --- computing ----------------------------------------------------------------------------

  function failed(err) {
    var text = GridMap.text('venue_error', { error: GridMap.errorText(err) });
    GridMap.reportFailure(GridMap.state.venues, text, 'venues', err);
  }

  /** Why no choice can be made at all (a layer the community lacks), or null. */
  V.blocked = function () {
    return GridMap.state.venues ? GridMap.state.venues.blocked : null;
  };

  /**
   * Choose venues with ``params`` ({k, minutes | metres, demand, weight_score,
   * include_incomplete_legal, max_per_compound}) and draw the answer. The latest call wins.
   */
  V.run = function (params) {
    if (V.blocked()) {
      // The analysis can only refuse: the panel says what to import instead.
      return Promise.resolve();
    }
    var seq = ++st.seq;
    params = L.extend({}, params);
    st.running = true;
    fire('running');
    return GridMap.fetchJSON('/api/analysis/venues', query(params))
      .then(function (plan) {
        if (seq !== st.seq) {
          return;
        }
        var circle = plan.circle;
        st.plan = plan;
        st.scenario = {
          after: { areas: circle.areas, buildings: circle.buildings },
          diff: { gained: circle.gained },
        };
        st.params = params;
        st.running = false;
        var s = GridMap.state.venues;
        s.error = null;
        s.runs++;
        s.key = V.key(params);
        render();
        fire('loaded');
      })
      .catch(function (err) {
        failed(err);
        if (seq === st.seq) {
          st.running = false;
          fire('failed');
        }
      });
  };

  // --- start --------------------------------------------------------------------------------

  /** Load the candidate rooms and service points, then choose with ``params``. */
  V.start = function (params) {
    if (started) {
      return;
    }
    started = true;
    init();
    GridMap.fetchLayer('candidate_venues')
      .then(function (collection) {
        st.candidates = collection;
        GridMap.state.layersLoaded.candidate_venues = collection.features.length;
        drawCandidates();
        fire('names');
      })
      .catch(failed);
    GridMap.fetchLayer('service_points')
      .then(function (collection) {
        st.points = collection;
        existingCodes = {};
        collection.features.forEach(function (f) {
          existingCodes[f.properties.code] = true;
        });
        GridMap.state.layersLoaded.service_points = collection.features.length;
        drawExisting();
        drawAreas();
        fire('names');
      })
      .catch(failed);
    var lacking = ['buildings', 'candidate_venues'].filter(GridMap.missing);
    if (lacking.length) {
      GridMap.state.venues.blocked = lacking[0];
      fire('blocked');
      return;
    }
    V.run(params);
  };
})();
