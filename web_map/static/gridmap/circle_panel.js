/*
 * gridmap: the service circle's panel. The limit (GB 50180-2018 life circles or custom metres),
 * the share of households and residents covered, coverage by kind of service point, the
 * uncovered buildings nearest first, and the scenario: its changes, run, reset, before -> after
 * and who gains or loses. Everything it shows comes from GridMap.circle (circle.js).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  var ICONS = { close: 'fa-door-closed', open: 'fa-door-open', remove: 'fa-xmark', add: 'fa-house-medical' };

  GridMap.circlePanel = function (elementId, position) {
    var control = GridMap.control(elementId, position, function (el, map) {
      var C = GridMap.circle;
      var ui = GridMap.ui;
      var fmt = GridMap.fmt;
      var circles = GridMap.config.circle.lifeCircles;
      var range = GridMap.config.circle.customRange;
      var tab = 'kinds';
      var shownRuns = 0;

      function q(selector) {
        return el.querySelector(selector);
      }

      function qa(selector) {
        return Array.prototype.slice.call(el.querySelectorAll(selector));
      }

      function setText(selector, text) {
        var node = q(selector);
        if (node) {
          node.textContent = text;
        }
      }

      var pct = fmt.share;

      function selectTab(name) {
        tab = name;
        qa('[data-tab]').forEach(function (b) {
          var on = b.getAttribute('data-tab') === name;
          b.classList.toggle('active', on);
          b.setAttribute('aria-selected', on ? 'true' : 'false');
        });
        qa('[data-section]').forEach(function (s) {
          s.hidden = s.getAttribute('data-section') !== name;
        });
        qa('[data-footer]').forEach(function (s) {
          s.hidden = s.getAttribute('data-footer') !== name;
        });
      }

      // --- the limit ------------------------------------------------------------------------

      function renderLimit(view) {
        var limit = C.limit() || {};
        qa('[data-minutes]').forEach(function (b) {
          var on = Number(b.getAttribute('data-minutes')) === limit.minutes;
          b.classList.toggle('active', on);
          b.setAttribute('aria-pressed', on ? 'true' : 'false');
        });
        q('.gm-sc-custom').classList.toggle('gm-sc-custom-active', !!limit.metres);
        if (!view) {
          return;
        }
        var minutes = limit.minutes || view.limit_m / view.speed_m_per_min;
        setText(
          '[data-field="limit"]',
          GridMap.text(limit.minutes ? 'circle_limit_now' : 'circle_limit_custom_now', {
            metres: fmt.num(view.limit_m, 0),
            minutes: fmt.num(minutes, 1),
          })
        );
        q('.gm-sc-approximate').hidden = !view.approximate;
      }

      q('.gm-sc-limit-buttons').addEventListener('click', function (e) {
        var b = e.target.closest('[data-minutes]');
        if (b) {
          q('.gm-sc-custom input').value = '';
          C.setLimit({ minutes: Number(b.getAttribute('data-minutes')) });
          renderLimit(C.view());
        }
      });
      q('.gm-sc-custom').addEventListener('submit', function (e) {
        e.preventDefault();
        var input = q('.gm-sc-custom input');
        var metres = Number(input.value);
        var ok = input.value !== '' && metres >= range[0] && metres <= range[1];
        input.classList.toggle('is-invalid', !ok);
        if (!ok) {
          GridMap.notify(GridMap.text('circle_custom_invalid', { lo: range[0], hi: range[1] }));
          return;
        }
        var preset = circles.filter(function (c) {
          return c.metres === metres;
        });
        C.setLimit(preset.length ? { minutes: preset[0].minutes } : { metres: metres });
        renderLimit(C.view());
      });

      // --- figures --------------------------------------------------------------------------

      function renderFigures(view) {
        var row = view.summary.community[0] || {};
        setText('[data-stat="households_covered_share"]', pct(row.households_covered_share));
        setText('[data-stat="residents_covered_share"]', pct(row.residents_covered_share));
        setText('[data-stat="households_covered"]', fmt.int(row.households_covered));
        setText('[data-stat="households"]', fmt.int(row.households));
        setText('[data-stat="residents_covered"]', fmt.int(row.residents_covered));
        setText('[data-stat="residents"]', fmt.int(row.residents));
        q('[data-bar="households"]').style.width = (row.households_covered_share || 0) * 100 + '%';
        q('[data-bar="residents"]').style.width = (row.residents_covered_share || 0) * 100 + '%';
        var scenario = !!C.result();
        var state = q('[data-field="state"]');
        state.textContent = scenario ? ui.circle_state_scenario : ui.circle_state_base;
        state.classList.toggle('gm-sc-state-scenario', scenario);
        qa('[data-kind-share]').forEach(function (node) {
          var kind = node.getAttribute('data-kind-share');
          var hh = row['households_covered_' + kind] || 0;
          var share = row.households ? hh / row.households : 0;
          node.textContent = pct(share);
          q('[data-kind-bar="' + kind + '"]').style.width = share * 100 + '%';
          setText('[data-kind-households="' + kind + '"]', fmt.int(hh) + ' ' + ui.unit_households);
        });
      }

      function buildingItem(id, extra) {
        var li = document.createElement('li');
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'gm-sc-item';
        b.setAttribute('data-building', id);
        b.innerHTML = '<span class="gm-sc-item-name"></span><span class="gm-sc-item-extra"></span>';
        b.querySelector('.gm-sc-item-name').textContent = C.buildingLabel(id);
        b.querySelector('.gm-sc-item-extra').textContent = extra || '';
        li.appendChild(b);
        return li;
      }

      function renderUncovered(view) {
        var list = q('.gm-sc-uncovered');
        list.textContent = '';
        view.uncovered.forEach(function (row) {
          var gap =
            row.reason === 'no_open_point'
              ? ui.circle_no_point
              : row.walk_m === null || row.walk_m === undefined
                ? ui.circle_unreachable
                : GridMap.text('circle_gap', { metres: fmt.num(row.gap_m, 0) });
          var item = buildingItem(row.building_id, gap + ' · ' + fmt.int(row.households) + ' ' + ui.unit_households);
          if (row.reason_zh) {
            // Why it is outside, in full, on hover (the list keeps one short line each).
            item.firstChild.title = row.reason_zh;
          }
          list.appendChild(item);
        });
        setText('[data-stat="uncovered_count"]', fmt.int(view.uncovered.length));
        q('[data-section="uncovered"] .gm-sc-empty').hidden = view.uncovered.length > 0;
      }

      el.addEventListener('click', function (e) {
        var item = e.target.closest('[data-building]');
        if (item) {
          C.showBuilding(item.getAttribute('data-building'));
        }
      });

      // --- the scenario ---------------------------------------------------------------------

      function renderEdits() {
        var edits = C.edits();
        var list = q('.gm-sc-changes');
        list.textContent = '';
        edits.forEach(function (edit) {
          var li = document.createElement('li');
          li.className = 'gm-sc-change gm-sc-change-' + edit.type;
          li.innerHTML =
            '<i class="fa-solid ' + ICONS[edit.type] + '" aria-hidden="true"></i>' +
            '<span class="gm-sc-change-what"></span><span class="gm-sc-change-name"></span>' +
            '<button type="button" class="gm-sc-undo"><i class="fa-solid fa-xmark" aria-hidden="true"></i></button>';
          li.querySelector('.gm-sc-change-what').textContent = ui['circle_change_' + edit.type];
          li.querySelector('.gm-sc-change-name').textContent = edit.label;
          var undo = li.querySelector('.gm-sc-undo');
          undo.title = ui.circle_undo;
          undo.setAttribute('aria-label', ui.circle_undo + ' ' + edit.label);
          undo.addEventListener('click', function () {
            edit.undo();
          });
          list.appendChild(li);
        });
        q('.gm-sc-no-changes').hidden = edits.length > 0;
        var count = q('[data-stat="edits"]');
        count.textContent = String(edits.length);
        count.hidden = edits.length === 0;
        var running = C.isRunning();
        var run = q('[data-action="run"]');
        run.disabled = running || edits.length === 0 || (!!C.result() && !C.isStale());
        run.classList.toggle('gm-sc-pulse', edits.length > 0 && (!C.result() || C.isStale()) && !running);
        run.querySelector('span').textContent = running ? ui.circle_running : ui.circle_run;
        q('[data-action="reset"]').disabled = edits.length === 0 && !C.result();
        var add = q('[data-action="add"]');
        add.classList.toggle('active', C.addMode());
        add.setAttribute('aria-pressed', C.addMode() ? 'true' : 'false');
        q('.gm-sc-add-hint').hidden = !C.addMode();
        q('.gm-sc-result .gm-sc-stale').hidden = !C.isStale();
      }

      function renderDiffList(kind, ids, counts) {
        var box = q('[data-diff="' + kind + '"]');
        box.hidden = ids.length === 0;
        setText(
          '[data-diff-counts="' + kind + '"]',
          GridMap.text('circle_counts', {
            buildings: fmt.int(ids.length),
            households: fmt.int(counts.households),
            residents: fmt.int(counts.residents),
          })
        );
        var list = box.querySelector('ol');
        list.textContent = '';
        var index = {};
        (C.view().buildings.features || []).forEach(function (f) {
          index[f.properties.building_id] = f.properties;
        });
        ids.forEach(function (id) {
          var p = index[id] || {};
          list.appendChild(buildingItem(id, fmt.int(p.households) + ' ' + ui.unit_households));
        });
      }

      function renderResult() {
        var result = C.result();
        var box = q('.gm-sc-result');
        box.hidden = !result;
        if (!result) {
          return;
        }
        var before = result.before[0] || {};
        var after = result.after.summary.community[0] || {};
        ['households', 'residents'].forEach(function (what) {
          var row = q('[data-compare="' + what + '"]');
          var b = before[what + '_covered_share'];
          var a = after[what + '_covered_share'];
          row.querySelector('[data-before]').textContent = pct(b);
          row.querySelector('[data-after]').textContent = pct(a);
          var delta = row.querySelector('[data-delta]');
          delta.textContent = b === null || a === null ? '' : fmt.points(a - b);
          delta.className = a > b ? 'gm-sc-up' : a < b ? 'gm-sc-down' : 'gm-sc-same';
        });
        var d = result.diff;
        renderDiffList('gained', d.gained, { households: d.households_gained, residents: d.residents_gained });
        renderDiffList('lost', d.lost, { households: d.households_lost, residents: d.residents_lost });
        q('.gm-sc-unchanged').hidden = d.gained.length + d.lost.length > 0;
      }

      q('[data-action="add"]').addEventListener('click', function () {
        C.setAddMode(!C.addMode());
      });
      q('.gm-sc-kind-select select').addEventListener('change', function (e) {
        C.setAddKind(e.target.value);
      });
      q('[data-action="run"]').addEventListener('click', function () {
        C.run();
      });
      q('[data-action="reset"]').addEventListener('click', function () {
        C.reset();
      });
      qa('[data-tab]').forEach(function (b) {
        b.addEventListener('click', function () {
          selectTab(b.getAttribute('data-tab'));
        });
      });

      // --- wiring ---------------------------------------------------------------------------

      function renderError() {
        var s = GridMap.state.circle || {};
        var box = q('.gm-sc-error');
        box.textContent = s.error || '';
        box.hidden = !s.error;
        el.classList.toggle('gm-sc-blocked', !!s.blocked);
      }

      function renderAll() {
        var view = C.view();
        renderError();
        renderLimit(view);
        if (view) {
          renderFigures(view);
          renderUncovered(view);
        }
        renderEdits();
        renderResult();
      }

      map.on('gridmap:circle', function (e) {
        if (e.what === 'edit' || e.what === 'mode') {
          renderEdits();
          if (tab !== 'scenario' && (C.hasEdits() || C.addMode())) {
            selectTab('scenario');
          }
          return;
        }
        if (e.what === 'running') {
          renderEdits();
          el.classList.toggle('gm-panel-loading', C.isRunning());
          return;
        }
        el.classList.remove('gm-panel-loading');
        renderAll();
        var runs = GridMap.state.circle.runs;
        if (C.result() && runs !== shownRuns) {
          // A new result: show it, scrolled into view below the changes.
          shownRuns = runs;
          selectTab('scenario');
          var body = q('.gm-sc-body');
          body.scrollTop = q('.gm-sc-result').offsetTop - body.offsetTop;
        }
      });
      map.on('gridmap:busy', function (e) {
        el.classList.toggle('gm-sc-busy', e.pending > 0);
      });
      selectTab(tab);
      renderAll();
    });
    control.addTo(GridMap.map);
    GridMap.circle.start();
    return control;
  };
})();
