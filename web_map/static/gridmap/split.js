/*
 * gridmap: the community split planner (社区拆分). The panel's settings ask
 * POST /api/analysis/split for plans; each plan gets a card (a thumbnail of its parts, its key
 * figures, its flags) and a column of the comparison table; the selected plan is drawn on the
 * map (units' territories coloured by part, the new boundaries bold). A unit's popup moves it
 * to another part, measured by POST /api/analysis/split/measure (撤销 takes the last move
 * back); exports POST the plans to /api/analysis/split/export and save the file; roles that
 * may restructure communities save the selected plan as new ones (POST /api/split/save).
 *
 * Part numbers are 0-based in the data and shown as 片区 1, 2, ...
 * What the browser test reads: GridMap.state.split ({idle, ready, runs, measures, moves, ...}),
 * GridMap.split.last() (the answer as received) and GridMap.split.plan(i) (a plan as shown).
 * Every user-facing string comes from the page's configuration (web_map/labels.py).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  if (GridMap.split) {
    return;
  }
  var S = (GridMap.split = {});
  var panelEl = null;
  var answer = null; // the last answer of /api/analysis/split, as received (never changed)
  var asked = null; // the settings it was asked with
  var units = {}; // unit id -> GeoJSON feature of the answer's units
  var shapes = {}; // unit id -> its Leaflet layer on the map
  var plans = []; // the plans as shown: moved by hand, measured again
  var flagLabels = {};
  var selected = -1;

  function cfg() {
    return GridMap.config.split;
  }

  function ui() {
    return GridMap.ui;
  }

  function state() {
    if (!GridMap.state.split) {
      GridMap.state.split = {
        idle: false,
        ready: false,
        running: false,
        measuring: false,
        runs: 0,
        measures: 0,
        moves: 0,
        undos: 0,
        exports: 0,
        saves: 0,
        plans: 0,
        selected: null,
        error: null,
        blocked: null,
      };
    }
    return GridMap.state.split;
  }

  /** The overlay of one part of the page: units or boundaries. */
  S.layer = GridMap.overlayGroups('split_');

  // --- formats ------------------------------------------------------------------------------

  var esc = function (v) {
    return GridMap.escape(v);
  };

  function partName(p) {
    return GridMap.text('split_part', { n: Number(p) + 1 });
  }

  function color(p) {
    var colors = cfg().colors;
    return colors[((Number(p) % colors.length) + colors.length) % colors.length];
  }

  function swatch(p) {
    return '<span class="gm-split-swatch" style="background:' + color(p) + '" aria-hidden="true"></span>';
  }

  function known(v) {
    return v !== null && v !== undefined && v !== '' && !(typeof v === 'number' && isNaN(v));
  }

  var fmt = {
    /** A percentage given in per cent, one decimal: 3.24 -> "3.2%". */
    pct: function (v) {
      return known(v) ? GridMap.fmt.num(Number(v), 1) + '%' : ui().unknown;
    },
    /** A signed deviation in per cent: -3.24 -> "−3.2%". */
    signed: function (v) {
      if (!known(v)) {
        return ui().unknown;
      }
      var r = Math.round(Number(v) * 10) / 10;
      return (r > 0 ? '+' : r < 0 ? '\u2212' : '\u00b1') + GridMap.fmt.num(Math.abs(r), 1) + '%';
    },
    /** A Polsby–Popper score: two decimals. */
    pp: function (v) {
      return known(v) ? Number(v).toFixed(2) : ui().unknown;
    },
    /** A share (0-1) as a percentage, one decimal. */
    share: function (v) {
      return known(v) ? GridMap.fmt.share(Number(v)) : ui().unknown;
    },
    int: function (v) {
      return known(v) ? GridMap.fmt.int(Math.round(Number(v))) : ui().unknown;
    },
    km: function (v) {
      return known(v) ? GridMap.fmt.num(Number(v), 2) + ' ' + ui().split_unit_km : ui().unknown;
    },
    yesNo: function (v) {
      return v ? ui().split_yes : ui().split_no;
    },
  };

  function flagText(code) {
    return flagLabels[code] || cfg().flags[code] || code;
  }

  function badges(flags) {
    if (!flags || !flags.length) {
      return '<span class="gm-split-ok">' + esc(ui().split_no_flags) + '</span>';
    }
    return flags.map(function (code) {
      return '<span class="gm-split-badge" data-flag="' + esc(code) + '">' + esc(flagText(code)) + '</span>';
    }).join('');
  }

  // --- the panel's parts ----------------------------------------------------------------------

  function $(selector) {
    return panelEl.querySelector(selector);
  }

  function showError(text) {
    var box = $('.gm-split-error');
    box.hidden = !text;
    box.textContent = text || '';
  }

  function readForm() {
    var f = $('.gm-split-form').elements;
    var s = cfg().settings;
    return {
      parts: Number(f.parts.value),
      tolerance_pct: Number(f.tolerance_pct.value),
      by: f.by.value,
      plans: Number(f.plans.value),
      time_budget_s: s.time_budget_s,
    };
  }

  function validForm(v) {
    var r = cfg().settings.ranges;
    var whole = function (n, range) {
      return Number.isInteger(n) && n >= range[0] && n <= range[1];
    };
    return whole(v.parts, r.parts) && whole(v.plans, r.plans) &&
      v.tolerance_pct >= r.tolerance_pct[0] && v.tolerance_pct <= r.tolerance_pct[1];
  }

  /** What every request about the plans says: community, parts, balance, tolerance. */
  function basis() {
    return {
      community: GridMap.config.community,
      parts: asked.parts,
      by: asked.by,
      tolerance: asked.tolerance,
    };
  }

  /** Say what the loading badge waits for (``key`` of the labels), or "loading" without one. */
  function loadingSays(key) {
    document.querySelectorAll('.gm-loading .gm-loading-text').forEach(function (el) {
      el.textContent = ui()[key || 'loading'];
    });
  }

  function setRunning(running) {
    var s = state();
    s.running = running;
    panelEl.classList.toggle('gm-panel-loading', running);
    var button = $('.gm-split-generate');
    button.disabled = running || !!s.blocked;
    button.setAttribute('aria-busy', running ? 'true' : 'false');
    $('.gm-split-generate-text').textContent = running ? ui().split_generating : ui().split_generate;
    loadingSays(running ? 'split_loading' : null);
  }

  // --- thumbnails ---------------------------------------------------------------------------

  function polygons(geometry) {
    if (!geometry) {
      return [];
    }
    if (geometry.type === 'Polygon') {
      return [geometry.coordinates];
    }
    if (geometry.type === 'MultiPolygon') {
      return geometry.coordinates;
    }
    return [];
  }

  /**
   * A small SVG of ``items`` ([{part, geometry}]): lon/lat drawn as x/y, longitudes scaled by
   * the cosine of the middle latitude so the parts keep their shape.
   */
  function thumbnail(items) {
    var x0 = Infinity;
    var y0 = Infinity;
    var x1 = -Infinity;
    var y1 = -Infinity;
    items.forEach(function (item) {
      polygons(item.geometry).forEach(function (rings) {
        rings[0].forEach(function (c) {
          x0 = Math.min(x0, c[0]);
          x1 = Math.max(x1, c[0]);
          y0 = Math.min(y0, c[1]);
          y1 = Math.max(y1, c[1]);
        });
      });
    });
    if (!isFinite(x0) || x1 <= x0 || y1 <= y0) {
      return '<svg class="gm-split-thumb" viewBox="0 0 100 70" aria-hidden="true"></svg>';
    }
    var k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
    var w = (x1 - x0) * k;
    var h = y1 - y0;
    var scale = 100 / Math.max(w, h);
    function pt(c) {
      return ((c[0] - x0) * k * scale).toFixed(1) + ' ' + ((y1 - c[1]) * scale).toFixed(1);
    }
    var paths = items.map(function (item) {
      var d = polygons(item.geometry).map(function (rings) {
        return rings.map(function (ring) {
          return 'M' + ring.map(pt).join('L') + 'Z';
        }).join('');
      }).join('');
      return d ? '<path d="' + d + '" fill="' + color(item.part) + '" data-part="' + Number(item.part) + '"></path>' : '';
    }).join('');
    return '<svg class="gm-split-thumb" viewBox="0 0 ' + (w * scale).toFixed(1) + ' ' + (h * scale).toFixed(1) +
      '" preserveAspectRatio="xMidYMid meet" fill-rule="evenodd" aria-hidden="true">' + paths + '</svg>';
  }

  function planShapes(plan) {
    if (plan.boundaries.length) {
      return plan.boundaries.map(function (f) {
        return { part: f.properties.part, geometry: f.geometry };
      });
    }
    return Object.keys(units).map(function (id) {
      return { part: plan.assignment[id], geometry: units[id].geometry };
    });
  }

  // --- cards and the comparison table -------------------------------------------------------

  var HINTS = { mean_pp: 'split_mean_pp_hint' };

  function hint(key) {
    return HINTS[key] ? ' title="' + esc(ui()[HINTS[key]]) + '"' : '';
  }

  function figure(key, label, value, text, bad) {
    return '<div class="gm-split-figure" data-figure="' + key + '" data-value="' + esc(value) + '"' + hint(key) + '><dt>' + esc(label) +
      '</dt><dd' + (bad ? ' class="gm-split-bad"' : '') + '>' + esc(text) + '</dd></div>';
  }

  function card(plan, i) {
    var u = ui();
    var m = plan.summary || {};
    var parts = (plan.parts || []).map(function (p) {
      return '<li data-part="' + Number(p.part) + '" data-residents="' + esc(p.residents) + '">' + swatch(p.part) +
        '<span>' + esc(partName(p.part)) + '</span><b>' + esc(fmt.int(p.residents)) + '</b></li>';
    }).join('');
    return '<div class="gm-split-card' + (i === selected ? ' gm-split-card-selected' : '') +
      (plan.flags.length ? ' gm-split-card-flagged' : '') + '" role="listitem" data-plan="' + i + '" tabindex="0"' +
      ' aria-pressed="' + (i === selected ? 'true' : 'false') + '">' +
      '<div class="gm-split-card-head"><b>' + esc(GridMap.text('split_plan', { n: i + 1 })) + '</b>' +
      (plan.edited ? '<span class="gm-split-edited">' + esc(u.split_edited) + '</span>' : '') + '</div>' +
      thumbnail(planShapes(plan)) +
      '<dl class="gm-split-figures">' +
      figure('max_deviation_pct', u.split_max_deviation, m.max_deviation_pct, fmt.pct(m.max_deviation_pct), m.within_tolerance === false) +
      figure('mean_pp', u.split_mean_pp, m.mean_pp, fmt.pp(m.mean_pp)) +
      figure('street_share', u.split_street_share, m.street_share, fmt.share(m.street_share)) +
      '</dl><ul class="gm-split-card-parts">' + parts + '</ul>' +
      '<div class="gm-split-badges">' + badges(plan.flags) + '</div></div>';
  }

  /** The comparison table's rows: [key, label, text of a plan, bad?]. */
  function measureRows() {
    var u = ui();
    var k = asked.parts;
    var rows = [
      ['max_deviation_pct', u.split_max_deviation, function (m) {
        return fmt.pct(m.max_deviation_pct);
      }, function (m) {
        return m.within_tolerance === false;
      }],
      ['within_tolerance', u.split_within_tolerance, function (m) {
        return fmt.yesNo(m.within_tolerance);
      }, function (m) {
        return !m.within_tolerance;
      }],
      ['all_contiguous', u.split_contiguous, function (m) {
        return fmt.yesNo(m.all_contiguous);
      }, function (m) {
        return !m.all_contiguous;
      }],
      ['mean_pp', u.split_mean_pp, function (m) {
        return fmt.pp(m.mean_pp);
      }],
      ['min_pp', u.split_min_pp, function (m) {
        return fmt.pp(m.min_pp);
      }],
      ['boundary_km', u.split_boundary_km, function (m) {
        return fmt.km(m.boundary_km);
      }],
      ['street_share', u.split_street_share, function (m) {
        return fmt.share(m.street_share);
      }],
      ['parts_with_centre', u.split_parts_with_centre, function (m) {
        return known(m.parts_with_centre) ? m.parts_with_centre + ' / ' + k : u.unknown;
      }, function (m) {
        return known(m.parts_with_centre) && Number(m.parts_with_centre) < k;
      }],
      ['min_coverage', u.split_min_coverage, function (m) {
        return fmt.share(m.min_coverage);
      }],
      ['grids_cut', u.split_grids_cut, function (m) {
        return known(m.grids_cut) ? m.grids_cut + ' ' + u.split_unit_grids : u.unknown;
      }],
    ];
    var perCadre = plans.some(function (p) {
      return known((p.summary || {}).max_residents_per_cadre);
    });
    if (perCadre) {
      rows.push(['max_residents_per_cadre', u.split_max_per_cadre, function (m) {
        return fmt.int(m.max_residents_per_cadre);
      }]);
    }
    for (var p = 0; p < k; p++) {
      rows.push(['residents_' + p, GridMap.text('split_part_residents', { part: partName(p) }), residentsOf(p)]);
    }
    return rows;
  }

  function residentsOf(p) {
    return function (m) {
      return fmt.int(m['residents_' + p]);
    };
  }

  function compareTable() {
    var u = ui();
    var head = '<thead><tr><th scope="col">' + esc(u.split_measure) + '</th>' + plans.map(function (plan, i) {
      return '<th scope="col" data-plan="' + i + '"' + (i === selected ? ' class="gm-split-col-selected"' : '') + '>' +
        esc(GridMap.text('split_plan', { n: i + 1 })) + (plan.edited ? '*' : '') + '</th>';
    }).join('') + '</tr></thead>';
    var body = measureRows().map(function (row) {
      return '<tr data-measure="' + row[0] + '"><th scope="row"' + hint(row[0]) + '>' + esc(row[1]) + '</th>' + plans.map(function (plan, i) {
        var m = plan.summary || {};
        var bad = row[3] && row[3](m);
        var cls = [i === selected ? 'gm-split-col-selected' : '', bad ? 'gm-split-bad' : ''].join(' ').trim();
        return '<td data-plan="' + i + '" data-value="' + esc(m[row[0]]) + '"' + (cls ? ' class="' + cls + '"' : '') + '>' +
          esc(row[2](m)) + '</td>';
      }).join('') + '</tr>';
    }).join('');
    var flags = '<tr data-measure="flags"><th scope="row">' + esc(u.split_flags) + '</th>' + plans.map(function (plan, i) {
      return '<td data-plan="' + i + '"' + (i === selected ? ' class="gm-split-col-selected"' : '') + '>' +
        (plan.flags.length ? plan.flags.map(function (code) {
          return '<span class="gm-split-badge" data-flag="' + esc(code) + '">' + esc(flagText(code)) + '</span>';
        }).join('') : '<span class="gm-split-ok">' + esc(u.split_no_flags) + '</span>') + '</td>';
    }).join('') + '</tr>';
    $('.gm-split-compare').innerHTML = head + '<tbody>' + body + flags + '</tbody>';
  }

  function renderPlans() {
    $('.gm-split-cards').innerHTML = plans.map(card).join('');
    compareTable();
  }

  // --- the selected plan: its parts (the legend), its flags, the map ------------------------

  function partProblems(p, tolerancePct) {
    var u = ui();
    var out = [];
    if (Number(p.units) === 0) {
      out.push(u.split_part_empty);
    }
    if (known(p.deviation_pct) && Math.abs(Number(p.deviation_pct)) > tolerancePct + 1e-7) {
      out.push(u.split_part_over);
    }
    if (p.contiguous === false && Number(p.units) !== 0) {
      out.push(u.split_part_not_contiguous);
    }
    if (p.has_centre === false) {
      out.push(u.split_part_no_centre);
    }
    return out;
  }

  function tolerancePct(plan) {
    var m = plan.summary || {};
    return known(m.tolerance_pct) ? Number(m.tolerance_pct) : asked.tolerance * 100;
  }

  function partsTable(plan) {
    var u = ui();
    var tol = tolerancePct(plan);
    var rows = (plan.parts || []).map(function (p) {
      var problems = partProblems(p, tol);
      var over = known(p.deviation_pct) && Math.abs(Number(p.deviation_pct)) > tol + 1e-7;
      return '<tr data-part="' + Number(p.part) + '"' + (problems.length ? ' class="gm-split-part-bad"' : '') + '>' +
        '<th scope="row">' + swatch(p.part) + esc(partName(p.part)) + '</th>' +
        '<td data-col="residents" data-value="' + esc(p.residents) + '">' + esc(fmt.int(p.residents)) + '</td>' +
        '<td data-col="households" data-value="' + esc(p.households) + '">' + esc(fmt.int(p.households)) + '</td>' +
        '<td data-col="deviation" data-value="' + esc(p.deviation_pct) + '"' + (over ? ' class="gm-split-bad"' : '') + '>' +
        esc(fmt.signed(p.deviation_pct)) + '</td>' +
        '<td data-col="centres" data-value="' + esc(p.centres) + '"' + (p.has_centre === false ? ' class="gm-split-bad"' : '') + '>' +
        esc(fmt.int(p.centres)) + '</td></tr>' +
        (problems.length ? '<tr class="gm-split-part-problems" data-problems="' + Number(p.part) + '"><td colspan="5">' +
          problems.map(function (t) {
            return '<span class="gm-split-badge">' + esc(t) + '</span>';
          }).join('') + '</td></tr>' : '');
    }).join('');
    $('.gm-split-parts').innerHTML = '<thead><tr><th scope="col">' + esc(u.split_col_part) + '</th><th scope="col">' +
      esc(u.split_col_residents) + '</th><th scope="col">' + esc(u.split_col_households) + '</th><th scope="col">' +
      esc(u.split_col_deviation) + '</th><th scope="col">' + esc(u.split_col_centres) + '</th></tr></thead><tbody>' +
      rows + '</tbody>';
  }

  function undoLine(plan) {
    var last = plan.history[plan.history.length - 1];
    $('.gm-split-undo').disabled = !last || state().measuring;
    $('.gm-split-undo-what').textContent = last
      ? GridMap.text('split_undo_what', { name: unitName(last.unit), n: Number(last.from) + 1 })
      : '';
  }

  function renderSelected() {
    var plan = plans[selected];
    $('.gm-split-selected').hidden = !plan;
    if (!plan) {
      return;
    }
    $('[data-field="plan-name"]').textContent = GridMap.text('split_plan', { n: selected + 1 });
    partsTable(plan);
    $('.gm-split-flags').innerHTML = badges(plan.flags);
    undoLine(plan);
  }

  function badParts(plan) {
    var bad = {};
    (plan.parts || []).forEach(function (p) {
      if (p.contiguous === false) {
        bad[p.part] = true;
      }
    });
    return bad;
  }

  function unitStyle(part, bad) {
    return {
      pane: 'gm-split-units',
      color: bad ? cfg().flagColor : '#ffffff',
      weight: bad ? 2 : 0.8,
      dashArray: bad ? '4 3' : null,
      opacity: 0.95,
      fillColor: color(part),
      fillOpacity: 0.55,
      className: 'gm-split-unit',
    };
  }

  function restyle() {
    var plan = plans[selected];
    if (!plan) {
      return;
    }
    var bad = badParts(plan);
    Object.keys(shapes).forEach(function (id) {
      var part = plan.assignment[id];
      shapes[id].setStyle(unitStyle(part, bad[part]));
      var el = shapes[id].getElement && shapes[id].getElement();
      if (el) {
        el.setAttribute('data-part', String(part));
      }
    });
  }

  function drawBoundaries(plan) {
    var group = S.layer('boundaries');
    group.clearLayers();
    GridMap.drawShapes(group, plan.boundaries, {
      pane: 'gm-split-lines',
      style: function () {
        return { color: cfg().boundaryColor, weight: 4, opacity: 0.9, fill: false, className: 'gm-split-boundary' };
      },
    });
    plan.boundaries.forEach(function (f) {
      var box = L.geoJSON(f).getBounds();
      if (!box.isValid()) {
        return;
      }
      L.marker(box.getCenter(), {
        icon: L.divIcon({
          className: 'gm-split-part-label',
          html: '<span style="border-color:' + color(f.properties.part) + '">' + esc(partName(f.properties.part)) + '</span>',
          iconSize: [64, 22],
          iconAnchor: [32, 11],
        }),
        interactive: false,
        keyboard: false,
      }).addTo(group);
    });
  }

  function unitName(id) {
    var f = units[id];
    var p = f ? f.properties : {};
    return p.name || id;
  }

  function unitPopup(id) {
    var u = ui();
    var plan = plans[selected];
    var f = units[id];
    var p = f ? f.properties : {};
    var part = plan ? plan.assignment[id] : null;
    var kind = p.kind === 'compound' ? u.split_unit_compound : u.split_unit_loose;
    var buttons = '';
    if (plan) {
      for (var q = 0; q < asked.parts; q++) {
        if (q !== Number(part)) {
          buttons += '<button type="button" class="btn btn-sm gm-split-move" data-unit="' + esc(id) + '" data-part="' + q + '"' +
            (state().measuring ? ' disabled' : '') + '>' + swatch(q) + esc(GridMap.text('split_move_to', { n: q + 1 })) + '</button>';
        }
      }
    }
    var rows = [
      [u.split_col_residents, GridMap.withUnit(p.residents, u.unit_people)],
      [u.split_col_households, GridMap.withUnit(p.households, u.unit_households)],
      [u.split_unit_buildings, GridMap.withUnit(p.buildings, u.unit_buildings)],
      [u.split_in_part, part === null || part === undefined ? esc(u.unknown) : swatch(part) + esc(partName(part))],
    ];
    return '<div class="gm-popup gm-split-popup" data-unit="' + esc(id) + '"><div class="gm-popup-kind">' + esc(u.split_unit) + ' · ' +
      esc(kind) + '</div><div class="gm-popup-title">' + esc(unitName(id)) + '</div><table class="gm-popup-table">' +
      rows.map(function (r) {
        return '<tr><th>' + esc(r[0]) + '</th><td>' + r[1] + '</td></tr>';
      }).join('') + '</table>' + (buttons ? '<div class="gm-split-moves">' + buttons + '</div>' : '') + '</div>';
  }

  function drawUnits() {
    var group = S.layer('units');
    group.clearLayers();
    shapes = {};
    L.geoJSON(answer.units, {
      pane: 'gm-split-units',
      style: function () {
        return unitStyle(0, false);
      },
      onEachFeature: function (f, layer) {
        var id = f.properties.unit_id;
        shapes[id] = layer;
        layer.bindPopup(function () {
          return unitPopup(id);
        }, {
          maxWidth: 320,
          minWidth: 220,
          className: 'gm-split-popup-wrap',
          autoPanPaddingTopLeft: [20, 80],
          autoPanPaddingBottomRight: [cfg().panelWidth || 440, 20],
        });
      },
    }).addTo(group);
  }

  /** Show plan ``i`` (0-based) on the map and in the panel. */
  S.select = function (i) {
    if (!plans[i]) {
      return false;
    }
    selected = i;
    state().selected = i;
    GridMap.map.closePopup();
    restyle();
    drawBoundaries(plans[i]);
    renderPlans();
    renderSelected();
    return true;
  };

  // --- generating ---------------------------------------------------------------------------

  function working(p, i, boundaries) {
    var own = boundaries.filter(function (f) {
      var plan = f.properties.plan;
      return (plan === undefined || plan === null ? 0 : Number(plan)) === (p.plan === undefined ? i : Number(p.plan));
    });
    return {
      assignment: Object.assign({}, p.assignment),
      summary: p.summary || {},
      parts: p.parts || [],
      flags: p.flags || [],
      boundaries: own,
      history: [],
      edited: false,
    };
  }

  function fillStatus(result) {
    $('.gm-split-status').textContent = result.plans.length
      ? GridMap.text('split_status', { n: result.plans.length, seconds: GridMap.fmt.num(result.seconds, 1) })
      : ui().split_no_plan;
    $('.gm-split-infeasible').hidden = result.feasible !== false;
    $('.gm-split-straight').hidden = result.coverage_source !== 'straight_line';
    var notes = $('.gm-split-notes');
    notes.innerHTML = (result.notes || []).map(function (n) {
      return '<li>' + esc(n) + '</li>';
    }).join('');
    notes.hidden = !(result.notes || []).length;
  }

  function enableActions(on) {
    panelEl.querySelectorAll('.gm-split-export').forEach(function (b) {
      b.disabled = !on;
    });
    var open = $('.gm-split-save-open');
    if (open) {
      open.disabled = !on;
    }
  }

  /** Ask for plans with the panel's settings (or ``values``) and show them. */
  S.generate = function (values) {
    var s = state();
    if (s.blocked || s.running) {
      return Promise.resolve(null);
    }
    var v = Object.assign(readForm(), values || {});
    if (!validForm(v)) {
      var text = GridMap.text('split_invalid', { parts: v.parts, tolerance: v.tolerance_pct, plans: v.plans });
      showError(text);
      s.error = text;
      return Promise.resolve(null);
    }
    var body = {
      community: GridMap.config.community,
      parts: v.parts,
      tolerance: Math.round(v.tolerance_pct * 100) / 10000,
      plans: v.plans,
      by: v.by,
      locks: {},
      seed: 0,
      time_budget_s: v.time_budget_s,
    };
    showError(null);
    s.ready = false;
    s.error = null;
    setRunning(true);
    closeSave();
    return GridMap.postJSON('/api/analysis/split', body)
      .then(function (result) {
        answer = result;
        asked = { parts: Number(result.parts || body.parts), by: result.by || body.by, tolerance: result.tolerance || body.tolerance, body: body };
        flagLabels = Object.assign({}, cfg().flags, result.flag_labels || {});
        units = {};
        (result.units.features || []).forEach(function (f) {
          units[f.properties.unit_id] = f;
        });
        var boundaries = (result.boundaries && result.boundaries.features) || [];
        plans = (result.plans || []).map(function (p, i) {
          return working(p, i, boundaries);
        });
        selected = -1;
        drawUnits();
        fillStatus(result);
        $('.gm-split-plans').hidden = !plans.length;
        if (plans.length) {
          S.select(0);
        } else {
          S.layer('boundaries').clearLayers();
          renderSelected();
        }
        enableActions(plans.length > 0);
        s.runs++;
        s.plans = plans.length;
        s.ready = true;
        return result;
      })
      .catch(function (err) {
        var text = GridMap.text('split_failed', { error: GridMap.errorText(err) });
        showError(text);
        s.error = text;
        throw err;
      })
      .finally(function () {
        setRunning(false);
      });
  };

  // --- moving units by hand -----------------------------------------------------------------

  function snapshot(plan) {
    return { summary: plan.summary, parts: plan.parts, flags: plan.flags, boundaries: plan.boundaries };
  }

  function restore(plan, snap) {
    plan.summary = snap.summary;
    plan.parts = snap.parts;
    plan.flags = snap.flags;
    plan.boundaries = snap.boundaries;
  }

  function redraw() {
    restyle();
    drawBoundaries(plans[selected]);
    renderPlans();
    renderSelected();
  }

  function setMeasuring(on) {
    state().measuring = on;
    loadingSays(on ? 'split_measuring' : null);
    panelEl.classList.toggle('gm-split-measuring', on);
    if (plans[selected]) {
      undoLine(plans[selected]);
    }
  }

  /** Measure ``plan`` as it now is (``/api/analysis/split/measure``). */
  function measure(plan) {
    return GridMap.postJSON('/api/analysis/split/measure', Object.assign(basis(), { assignment: plan.assignment }));
  }

  /** Move unit ``id`` of the selected plan to part ``part`` (0-based); measure it at once. */
  S.move = function (id, part) {
    var s = state();
    var plan = plans[selected];
    part = Number(part);
    if (!plan || s.measuring || !(id in plan.assignment) || plan.assignment[id] === part ||
        !(part >= 0 && part < asked.parts)) {
      return Promise.resolve(null);
    }
    var from = plan.assignment[id];
    plan.history.push({ unit: id, from: from, to: part, before: snapshot(plan) });
    plan.assignment[id] = part;
    GridMap.map.closePopup();
    showError(null);
    setMeasuring(true);
    restyle();
    return measure(plan)
      .then(function (m) {
        plan.summary = m.summary || {};
        plan.parts = m.parts || [];
        plan.flags = m.flags || [];
        plan.boundaries = (m.boundaries && m.boundaries.features) || [];
        plan.edited = true;
        s.measures++;
        s.moves++;
        setMeasuring(false);
        redraw();
        GridMap.notify(GridMap.text('split_moved', { name: unitName(id), n: part + 1 }), 'ok');
        return m;
      })
      .catch(function (err) {
        plan.assignment[id] = from;
        plan.history.pop();
        setMeasuring(false);
        restyle();
        var text = GridMap.text('split_measure_failed', { error: GridMap.errorText(err) });
        showError(text);
        s.error = text;
        throw err;
      });
  };

  /** Take the selected plan's last move back: its unit and its measures as they were. */
  S.undo = function () {
    var s = state();
    var plan = plans[selected];
    if (!plan || s.measuring || !plan.history.length) {
      return false;
    }
    var last = plan.history.pop();
    plan.assignment[last.unit] = last.from;
    restore(plan, last.before);
    plan.edited = plan.history.length > 0;
    s.undos++;
    GridMap.map.closePopup();
    redraw();
    return true;
  };

  // --- exports ------------------------------------------------------------------------------

  var EXTENSIONS = { csv: 'csv', xlsx: 'xlsx', geojson: 'geojson', gpkg: 'gpkg' };

  function fileName(response, format) {
    var header = response.headers.get('Content-Disposition') || '';
    var star = /filename\*=(?:UTF-8|utf-8)''([^;]+)/.exec(header);
    if (star) {
      try {
        return decodeURIComponent(star[1].trim());
      } catch {
        // a malformed name: fall through to the plain one
      }
    }
    var plain = /filename="?([^";]+)"?/.exec(header);
    if (plain) {
      return plain[1].trim();
    }
    return ui().split_export_file + '-' + GridMap.config.community + '.' + (EXTENSIONS[format] || format);
  }

  /** POST the plans as shown to the export and save the file it answers (csv, xlsx, geojson, gpkg). */
  S.exportFile = function (format) {
    var s = state();
    if (!plans.length) {
      return Promise.resolve(null);
    }
    var url = GridMap.config.apiRoot + '/api/analysis/split/export?format=' + encodeURIComponent(format);
    var body = Object.assign(basis(), {
      plans: plans.map(function (p) {
        return p.assignment;
      }),
    });
    showError(null);
    GridMap.busy(1);
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        Accept: '*/*',
        'Content-Type': 'application/json',
        'X-CSRF-Token': GridMap.csrfToken(),
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.href = GridMap.loginURL(window.location.pathname + window.location.search);
        }
        if (!response.ok) {
          return response.json().catch(function () {
            return null;
          }).then(function (b) {
            var err = new Error(response.status + ' ' + url);
            err.status = response.status;
            err.detail = GridMap.detailOf(b);
            throw err;
          });
        }
        return response.blob().then(function (blob) {
          return { blob: blob, name: fileName(response, format) };
        });
      })
      .then(function (file) {
        var link = document.createElement('a');
        link.href = URL.createObjectURL(file.blob);
        link.download = file.name;
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        setTimeout(function () {
          URL.revokeObjectURL(link.href);
          link.remove();
        }, 2000);
        s.exports++;
        s.lastExport = { format: format, name: file.name, size: file.blob.size, type: file.blob.type };
        GridMap.notify(GridMap.text('split_exported', { file: file.name }), 'ok');
        return s.lastExport;
      })
      .catch(function (err) {
        var text = GridMap.text('split_export_failed', { error: GridMap.errorText(err) });
        showError(text);
        s.error = text;
        throw err;
      })
      .finally(function () {
        GridMap.busy(-1);
      });
  };

  // --- saving as new communities ------------------------------------------------------------

  function saveForm() {
    return $('.gm-split-save-form');
  }

  function saveError(text) {
    var box = $('.gm-split-save-error');
    if (box) {
      box.hidden = !text;
      box.textContent = text || '';
    }
  }

  function step(name) {
    saveForm().querySelectorAll('.gm-split-save-step').forEach(function (el) {
      el.hidden = el.getAttribute('data-step') !== name;
    });
    saveForm().querySelectorAll('.gm-split-save-rows input').forEach(function (input) {
      input.readOnly = name !== 'names';
    });
  }

  function closeSave() {
    var form = panelEl && saveForm();
    if (!form) {
      return;
    }
    form.hidden = true;
    saveError(null);
    $('.gm-split-save-open').hidden = false;
  }

  /** The names a new community starts with: part 1 keeps the community's, then -2, （二）... */
  function defaultName(p) {
    var code = GridMap.config.community;
    var name = GridMap.config.communityName;
    if (p === 0) {
      return { code: code, name: name };
    }
    var numeral = cfg().numerals[p] || String(p + 1);
    return { code: code + '-' + (p + 1), name: name + GridMap.text('split_name_suffix', { n: numeral }) };
  }

  /** Open the save form for the selected plan, one code and name per part. */
  S.openSave = function () {
    var form = saveForm();
    if (!form || !plans[selected]) {
      return false;
    }
    var u = ui();
    var rows = '';
    for (var p = 0; p < asked.parts; p++) {
      var d = defaultName(p);
      rows += '<div class="gm-split-save-row" data-part="' + p + '"><div class="gm-split-save-part">' + swatch(p) +
        esc(partName(p)) + '</div><label>' + esc(u.split_save_code) +
        '<input class="form-control form-control-sm" type="text" name="code" maxlength="64" value="' + esc(d.code) + '" required /></label>' +
        '<label>' + esc(u.split_save_name) +
        '<input class="form-control form-control-sm" type="text" name="name" maxlength="100" value="' + esc(d.name) + '" required /></label></div>';
    }
    form.querySelector('.gm-split-save-rows').innerHTML = rows;
    form.hidden = false;
    $('.gm-split-save-open').hidden = true;
    $('.gm-split-saved').hidden = true;
    saveError(null);
    step('names');
    return true;
  };

  function chosenNames() {
    return Array.prototype.map.call(saveForm().querySelectorAll('.gm-split-save-row'), function (row) {
      return {
        code: row.querySelector('input[name="code"]').value.trim(),
        name: row.querySelector('input[name="name"]').value.trim(),
      };
    });
  }

  /** Check the names, then ask to confirm: what will happen, and the plan's flags if any. */
  S.confirmSave = function () {
    var u = ui();
    var names = chosenNames();
    if (names.some(function (n) {
      return !n.code || !n.name;
    })) {
      saveError(u.split_save_missing);
      return false;
    }
    var seen = {};
    var twice = names.filter(function (n) {
      var again = seen[n.code];
      seen[n.code] = true;
      return again;
    })[0];
    if (twice) {
      saveError(GridMap.text('split_save_duplicate', { code: twice.code }));
      return false;
    }
    saveError(null);
    var plan = plans[selected];
    var check = $('.gm-split-save-check');
    check.innerHTML = esc(GridMap.text('split_save_check', { name: GridMap.config.communityName, n: names.length })) +
      '<ul>' + names.map(function (n, p) {
        return '<li>' + swatch(p) + esc(partName(p)) + '：' + esc(n.code) + ' ' + esc(n.name) + '</li>';
      }).join('') + '</ul>' +
      (plan.flags.length ? '<div class="gm-split-bad">' + esc(GridMap.text('split_save_flags', {
        flags: plan.flags.map(flagText).join('、'),
      })) + '</div>' : '');
    step('confirm');
    return true;
  };

  function savedResult(res) {
    var u = ui();
    var basemap = GridMap.state.basemap || GridMap.config.basemap;
    var made = (res.communities || []).map(function (c) {
      var href = cfg().officerUrl + '?' + new URLSearchParams({ community: c.code, basemap: basemap }).toString();
      return '<li data-community="' + esc(c.code) + '"><b>' + esc(c.code) + '</b> ' + esc(c.name) + ' · ' +
        esc(GridMap.withUnit(c.residents, u.unit_people)) + ' · ' + esc(GridMap.withUnit(c.households, u.unit_households)) +
        ' <a class="gm-split-open" href="' + esc(href) + '">' + esc(GridMap.text('split_saved_open', { name: c.name })) + '</a></li>';
    }).join('');
    var moved = Object.keys(res.moved || {}).map(function (layer) {
      return '<li>' + esc(cfg().moved[layer] || layer) + '：' + esc(GridMap.fmt.int(res.moved[layer])) + '</li>';
    }).join('');
    return '<div class="gm-split-saved-head"><i class="fa-solid fa-circle-check" aria-hidden="true"></i> ' +
      esc(GridMap.text('split_saved', { n: (res.communities || []).length })) + '</div><ul class="gm-split-saved-list">' + made + '</ul>' +
      (moved ? '<div class="gm-split-head">' + esc(u.split_saved_moved) + '</div><ul class="gm-split-saved-moved">' + moved + '</ul>' : '') +
      (res.removed ? '<div class="gm-split-note">' + esc(GridMap.text('split_saved_removed', { code: res.removed })) + '</div>' : '') +
      (res.lead_zones_removed > 0 ? '<div class="gm-split-note gm-split-bad">' +
        esc(GridMap.text('split_saved_lead_zones', { n: res.lead_zones_removed })) + '</div>' : '') +
      (res.grid_links_dropped > 0 ? '<div class="gm-split-note gm-split-bad">' +
        esc(GridMap.text('split_saved_grid_links', { n: res.grid_links_dropped })) + '</div>' : '');
  }

  /** Save the selected plan as new communities with the names the form holds. */
  S.save = function () {
    var s = state();
    var plan = plans[selected];
    if (!plan || !saveForm()) {
      return Promise.resolve(null);
    }
    var confirm = $('.gm-split-save-confirm');
    confirm.disabled = true;
    confirm.textContent = ui().split_saving;
    // The data the plans were made on: a community changed since is refused (409), not split.
    var body = Object.assign(basis(), {
      assignment: plan.assignment,
      communities: chosenNames(),
      revision: answer ? answer.revision : null,
    });
    return GridMap.postJSON('/api/split/save', body)
      .then(function (res) {
        s.saves++;
        s.saved = res;
        saveForm().hidden = true;
        var box = $('.gm-split-saved');
        box.innerHTML = savedResult(res);
        box.hidden = false;
        return res;
      })
      .catch(function (err) {
        saveError(GridMap.text('split_save_failed', { error: GridMap.errorText(err) }));
        step('names');
        throw err;
      })
      .finally(function () {
        confirm.disabled = false;
        confirm.innerHTML = '<i class="fa-solid fa-floppy-disk" aria-hidden="true"></i> ' + esc(ui().split_save_confirm);
      });
  };

  // --- the panel ----------------------------------------------------------------------------

  function wire(el) {
    panelEl = el;
    el.querySelector('.gm-split-form').addEventListener('submit', function (e) {
      e.preventDefault();
      S.generate().catch(function () {});
    });
    el.querySelector('.gm-split-cards').addEventListener('click', function (e) {
      var c = e.target.closest('.gm-split-card');
      if (c) {
        S.select(Number(c.getAttribute('data-plan')));
      }
    });
    el.querySelector('.gm-split-cards').addEventListener('keydown', function (e) {
      var c = e.target.closest('.gm-split-card');
      if (c && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        S.select(Number(c.getAttribute('data-plan')));
      }
    });
    el.querySelector('.gm-split-compare').addEventListener('click', function (e) {
      var th = e.target.closest('thead th[data-plan]');
      if (th) {
        S.select(Number(th.getAttribute('data-plan')));
      }
    });
    el.querySelector('.gm-split-undo').addEventListener('click', function () {
      S.undo();
    });
    el.querySelectorAll('.gm-split-export').forEach(function (b) {
      b.addEventListener('click', function () {
        S.exportFile(b.getAttribute('data-format')).catch(function () {});
      });
    });
    var form = el.querySelector('.gm-split-save-form'); // only for roles that may restructure
    if (form) {
      el.querySelector('.gm-split-save-open').addEventListener('click', function () {
        S.openSave();
      });
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        S.confirmSave();
      });
      form.querySelector('.gm-split-save-cancel').addEventListener('click', closeSave);
      form.querySelector('.gm-split-save-back').addEventListener('click', function () {
        step('names');
      });
      form.querySelector('.gm-split-save-confirm').addEventListener('click', function () {
        S.save().catch(function () {});
      });
    }
    if (GridMap.missing('buildings')) {
      // Without buildings there is nothing to split: the panel says what to import.
      state().blocked = 'buildings';
      el.classList.add('gm-split-blocked');
      el.querySelector('.gm-split-generate').disabled = true;
    }
  }

  /** The panel: wire the form, the cards, undo, exports and saving; the popups' move buttons. */
  S.panel = function (elementId, position) {
    var s = state();
    [['gm-split-units', 360, true], ['gm-split-lines', 393, false]].forEach(function (p) {
      var pane = GridMap.map.createPane(p[0]);
      pane.style.zIndex = p[1];
      if (!p[2]) {
        pane.style.pointerEvents = 'none';
      }
    });
    GridMap.control(elementId, position, wire).addTo(GridMap.map);
    GridMap.map.getContainer().addEventListener('click', function (e) {
      var btn = e.target.closest && e.target.closest('.gm-split-move');
      if (btn && !btn.disabled) {
        S.move(btn.getAttribute('data-unit'), Number(btn.getAttribute('data-part'))).catch(function () {});
      }
    });
    s.idle = true;
  };

  /** Open the popup of unit ``id`` (from a test, or a list). */
  S.openUnit = function (id) {
    var layer = shapes[id];
    if (!layer) {
      return false;
    }
    layer.openPopup(layer.getBounds().getCenter());
    return true;
  };

  /** The last answer of /api/analysis/split, as received. */
  S.last = function () {
    return answer;
  };

  /** Plan ``i`` as shown (moved by hand, measured again); the selected one without ``i``. */
  S.plan = function (i) {
    var p = plans[i === undefined ? selected : i];
    return p ? { assignment: p.assignment, summary: p.summary, parts: p.parts, flags: p.flags, moves: p.history.length } : null;
  };
})();
