/*
 * gridmap: the red-house venue page's panel. The form (k, walking limit, demand, score weight,
 * incomplete legal papers allowed, per-compound cap) and what a planner takes to a meeting:
 * coverage before -> after, whether the answer is proven optimal, each pick with its gains,
 * score breakdown and the runner-up it beat, the coverage curve over k, the excluded rooms,
 * and export links. Everything it shows comes from GridMap.venues (venues.js).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var SVG_NS = 'http://www.w3.org/2000/svg';

  GridMap.venuePanel = function (elementId, position) {
    var V = GridMap.venues;
    var vc = GridMap.config.venues;
    var control = GridMap.control(elementId, position, function (el, map) {
      var ui = GridMap.ui;
      var fmt = GridMap.fmt;
      var form = el.querySelector('.gm-vn-form');
      var state = {
        minutes: vc.minutes,
        demand: vc.demand,
      };

      function q(selector) {
        return el.querySelector(selector);
      }

      function qa(selector) {
        return Array.prototype.slice.call(el.querySelectorAll(selector));
      }

      function input(name) {
        return form.elements[name];
      }

      var pct = fmt.share;

      function unit(demand) {
        return vc.demands[demand].unit;
      }

      function clamp(value, range) {
        return Math.min(range[1], Math.max(range[0], value));
      }

      // --- the form -------------------------------------------------------------------------

      input('k').value = vc.k;
      input('max_per_compound').value = vc.maxPerCompound;
      input('weight_score').value = vc.weightScore;
      input('include_incomplete_legal').checked = !!vc.includeIncompleteLegal;

      /** The form's parameters, or null (with the field marked) when one is out of range. */
      function read() {
        var k = Number(input('k').value);
        var per = Number(input('max_per_compound').value);
        var ok = true;
        var kOk = Number.isInteger(k) && k >= vc.kRange[0] && k <= vc.kRange[1];
        input('k').classList.toggle('is-invalid', !kOk);
        if (!kOk) {
          GridMap.notify(GridMap.text('venue_k_invalid', { lo: vc.kRange[0], hi: vc.kRange[1] }));
          ok = false;
        }
        var perOk = Number.isInteger(per) && per >= vc.perCompoundRange[0] && per <= vc.perCompoundRange[1];
        input('max_per_compound').classList.toggle('is-invalid', !perOk);
        if (!perOk) {
          GridMap.notify(GridMap.text('venue_per_compound_invalid', { hi: vc.perCompoundRange[1] }));
          ok = false;
        }
        var params = {
          k: k,
          demand: state.demand,
          weight_score: Number(input('weight_score').value),
          include_incomplete_legal: input('include_incomplete_legal').checked,
          max_per_compound: per,
        };
        var metresInput = input('metres');
        if (state.minutes) {
          params.minutes = state.minutes;
          metresInput.classList.remove('is-invalid');
        } else {
          var metres = Number(metresInput.value);
          var mOk = metresInput.value !== '' && metres >= vc.customRange[0] && metres <= vc.customRange[1];
          metresInput.classList.toggle('is-invalid', !mOk);
          if (!mOk) {
            GridMap.notify(GridMap.text('circle_custom_invalid', { lo: vc.customRange[0], hi: vc.customRange[1] }));
            ok = false;
          }
          params.metres = metres;
        }
        return ok ? params : null;
      }

      /** The form as it stands, without complaints (for the "changed since" check). */
      function current() {
        var params = {
          k: Number(input('k').value),
          demand: state.demand,
          weight_score: Number(input('weight_score').value),
          include_incomplete_legal: input('include_incomplete_legal').checked,
          max_per_compound: Number(input('max_per_compound').value),
        };
        if (state.minutes) {
          params.minutes = state.minutes;
        } else {
          params.metres = Number(input('metres').value);
        }
        return params;
      }

      function renderForm() {
        qa('[data-minutes]').forEach(function (b) {
          var on = Number(b.getAttribute('data-minutes')) === state.minutes;
          b.classList.toggle('active', on);
          b.setAttribute('aria-pressed', on ? 'true' : 'false');
        });
        q('.gm-vn-custom').classList.toggle('gm-vn-custom-active', !state.minutes);
        qa('[data-demand]').forEach(function (b) {
          var on = b.getAttribute('data-demand') === state.demand;
          b.classList.toggle('active', on);
          b.setAttribute('aria-pressed', on ? 'true' : 'false');
        });
        var w = Number(input('weight_score').value);
        q('[data-field="weight"]').textContent =
          w > 0 ? GridMap.text('venue_weight_value', { value: fmt.int(w), unit: unit(state.demand) }) : ui.venue_weight_zero;
        var result = V.result();
        var stale = !!result && V.key(current()) !== GridMap.state.venues.key;
        var running = V.isRunning();
        q('.gm-vn-stale').hidden = !stale || running;
        var run = q('[data-action="run"]');
        run.disabled = running || !!V.blocked();
        run.classList.toggle('gm-sc-pulse', stale && !running);
        run.querySelector('span').textContent = running ? ui.venue_running : ui.venue_run;
        if (GridMap.state.venues) {
          GridMap.state.venues.stale = stale;
        }
      }

      qa('[data-step]').forEach(function (b) {
        b.addEventListener('click', function () {
          var name = b.getAttribute('data-step');
          var range = name === 'k' ? vc.kRange : vc.perCompoundRange;
          var field = input(name);
          field.value = clamp((Number(field.value) || 0) + Number(b.getAttribute('data-delta')), range);
          field.classList.remove('is-invalid');
          renderForm();
        });
      });
      qa('[data-minutes]').forEach(function (b) {
        b.addEventListener('click', function () {
          state.minutes = Number(b.getAttribute('data-minutes'));
          input('metres').value = '';
          renderForm();
        });
      });
      input('metres').addEventListener('input', function () {
        var metres = Number(input('metres').value);
        var preset = vc.lifeCircles.filter(function (c) {
          return c.metres === metres;
        });
        state.minutes = input('metres').value === '' ? state.minutes || vc.minutes : preset.length ? preset[0].minutes : null;
        renderForm();
      });
      qa('[data-demand]').forEach(function (b) {
        b.addEventListener('click', function () {
          state.demand = b.getAttribute('data-demand');
          renderForm();
        });
      });
      form.addEventListener('input', renderForm);
      form.addEventListener('change', renderForm);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var params = read();
        if (params) {
          V.run(params);
        }
      });

      // --- the result -----------------------------------------------------------------------

      function renderParams(plan, params) {
        var minutes = params.minutes || plan.limit_m / vc.speedMPerMin;
        q('[data-field="params"]').textContent = GridMap.text('venue_params_now', {
          metres: fmt.num(plan.limit_m, 0),
          minutes: fmt.num(minutes, 1),
          demand: vc.demands[plan.demand].button,
        });
        q('.gm-vn-approximate').hidden = !plan.approximate;
      }

      function renderCoverage(plan) {
        Object.keys(vc.demands).forEach(function (demand) {
          var box = q('[data-kpi="' + demand + '"]');
          var b = plan.before[demand + '_share'];
          var a = plan.after[demand + '_share'];
          box.classList.toggle('gm-vn-kpi-main', demand === plan.demand);
          box.querySelector('[data-before]').textContent = pct(b);
          box.querySelector('[data-after]').textContent = pct(a);
          var d = Math.round((a - b) * 1000) / 10;
          var delta = box.querySelector('[data-delta]');
          delta.textContent = fmt.points(a - b) + ' ' + ui.venue_points;
          delta.className = d > 0 ? 'gm-sc-up' : d < 0 ? 'gm-sc-down' : 'gm-sc-same';
          box.querySelector('[data-bar-before]').style.width = b * 100 + '%';
          box.querySelector('[data-bar-gain]').style.width = Math.max(0, a - b) * 100 + '%';
          box.querySelector('[data-counts]').textContent =
            fmt.int(plan.before[demand]) + ' \u2192 ' + fmt.int(plan.after[demand]) + ' ' + unit(demand) +
            '（+' + fmt.int(plan.after[demand] - plan.before[demand]) + '）';
        });
        var proof = q('[data-field="proof"]');
        proof.className = 'gm-vn-proof ' + (plan.optimal ? 'gm-vn-proof-optimal' : 'gm-vn-proof-gap');
        proof.innerHTML =
          '<i class="fa-solid ' + (plan.optimal ? 'fa-circle-check' : 'fa-triangle-exclamation') + '" aria-hidden="true"></i> ';
        proof.appendChild(
          document.createTextNode(
            plan.optimal ? ui.venue_optimal : GridMap.text('venue_gap', { gap: fmt.num((plan.gap || 0) * 100, 2) + '%' })
          )
        );
        var method = ui['venue_method_' + plan.method] || plan.method;
        q('[data-field="method"]').textContent =
          GridMap.text('venue_method', { method: method, seconds: fmt.num(plan.seconds, 2) }) + (plan.note ? ' · ' + plan.note : '');
      }

      function partsHtml(p) {
        var keys = Object.keys(vc.criteria);
        var full = 1 / keys.length;
        return keys
          .map(function (key) {
            var value = Number(p['score_' + key] || 0);
            var width = Math.min(1, value / full) * 100;
            return (
              '<div class="gm-vn-part" data-criterion="' + key + '">' +
              '<span class="gm-vn-part-name">' + GridMap.escape(vc.criteria[key]) + '</span>' +
              '<span class="gm-vn-part-bar"><i style="width:' + width.toFixed(1) + '%"></i></span>' +
              '<span class="gm-vn-part-value">' + value.toFixed(2) + '</span></div>'
            );
          })
          .join('');
      }

      function compoundsText(codes) {
        if (!codes) {
          return ui.venue_no_new_compounds;
        }
        return String(codes)
          .split('、')
          .map(function (c) {
            return V.compoundName(c);
          })
          .join('、');
      }

      function renderPicks(plan) {
        var list = q('.gm-vn-picks');
        list.textContent = '';
        var demand = plan.demand;
        plan.picks.features.forEach(function (f) {
          var p = f.properties;
          var li = document.createElement('li');
          li.className = 'gm-vn-pick-card';
          li.setAttribute('data-rank', p.rank);
          li.setAttribute('data-candidate', p.candidate_id);
          var runner = p.runner_up_name
            ? '<b>' + GridMap.escape(p.runner_up_name) + '</b> · ' +
              GridMap.escape(
                GridMap.text('venue_beat_gain', {
                  value: fmt.int(p['runner_up_new_' + demand]),
                  unit: unit(demand),
                  score: V.score(p.runner_up_score),
                })
              )
            : GridMap.escape(ui.venue_no_runner_up);
          li.innerHTML =
            '<button type="button" class="gm-vn-pick-head">' +
            '<span class="gm-vn-pick-no">' + p.rank + '</span>' +
            '<span class="gm-vn-pick-title"><span class="gm-vn-pick-name"></span>' +
            '<span class="gm-vn-pick-meta"></span></span>' +
            '<span class="gm-vn-pick-score" title="' + GridMap.escape(ui.venue_score) + '"><small>' +
            GridMap.escape(ui.venue_score) + '</small>' + V.score(p.score) + '</span></button>' +
            '<div class="gm-vn-pick-gain"><span class="gm-vn-pick-gain-label">' + GridMap.escape(ui.venue_new_cover) + '</span>' +
            '<b data-new-residents="' + p.new_residents + '" data-new-households="' + p.new_households + '">' +
            GridMap.escape(
              GridMap.text('venue_new_counts', {
                residents: fmt.int(p.new_residents),
                households: fmt.int(p.new_households),
                buildings: fmt.int(p.new_buildings),
              })
            ) +
            '</b></div>' +
            '<div class="gm-vn-pick-compounds"><span>' + GridMap.escape(ui.venue_new_compounds) + '</span>' +
            GridMap.escape(compoundsText(p.new_compounds)) + '</div>' +
            '<div class="gm-vn-parts">' + partsHtml(p) + '</div>' +
            '<div class="gm-vn-beat"><i class="fa-solid fa-scale-balanced" aria-hidden="true"></i> ' +
            GridMap.escape(ui.venue_beat) + ' ' + runner + '</div>';
          li.querySelector('.gm-vn-pick-name').textContent = p.name || p.candidate_id;
          li.querySelector('.gm-vn-pick-meta').textContent = V.kindLabel(p.kind) + ' · ' + V.compoundName(p.compound);
          list.appendChild(li);
        });
        q('.gm-vn-no-picks').hidden = plan.picks.features.length > 0;
      }

      function svg(name, attrs, parent) {
        var node = document.createElementNS(SVG_NS, name);
        Object.keys(attrs || {}).forEach(function (k) {
          node.setAttribute(k, attrs[k]);
        });
        if (parent) {
          parent.appendChild(node);
        }
        return node;
      }

      /** Coverage share against k = 0 (today) .. K: where more venues stop paying. */
      function renderCurve(plan) {
        var box = q('[data-field="curve"]');
        box.textContent = '';
        var demand = plan.demand;
        var rows = plan.curve.slice().sort(function (a, b) {
          return a.k - b.k;
        });
        var base = plan.before[demand + '_share'];
        var points = [{ k: 0, share: base, base: true }].concat(
          rows.map(function (r) {
            return { k: r.k, share: r.share, gain: r['new_' + demand], row: r };
          })
        );
        var W = 340;
        var H = 150;
        var pad = { l: 36, r: 14, t: 20, b: 26 };
        var lo = Math.min.apply(null, points.map(function (p) { return p.share; }));
        var hi = Math.max.apply(null, points.map(function (p) { return p.share; }));
        var step = hi - lo > 0.1 ? 0.05 : hi - lo > 0.04 ? 0.02 : 0.01;
        var y0 = Math.max(0, Math.floor(lo / step) * step);
        var y1 = Math.min(1, Math.ceil(hi / step) * step);
        if (y1 - y0 < step) {
          y1 = Math.min(1, y0 + step);
          y0 = Math.max(0, y1 - step);
        }
        var kMax = Math.max(1, points[points.length - 1].k);
        function x(k) {
          return pad.l + ((W - pad.l - pad.r) * k) / kMax;
        }
        function y(share) {
          return pad.t + (H - pad.t - pad.b) * (1 - (share - y0) / (y1 - y0 || 1));
        }
        var root = svg('svg', {
          viewBox: '0 0 ' + W + ' ' + H,
          class: 'gm-vn-curve-svg',
          role: 'img',
          'aria-label': ui.venue_curve,
        });
        var grid = svg('g', { class: 'gm-vn-curve-grid' }, root);
        for (var t = y0; t <= y1 + 1e-9; t += step) {
          svg('line', { x1: pad.l, x2: W - pad.r, y1: y(t), y2: y(t) }, grid);
          svg('text', { x: pad.l - 6, y: y(t) + 3.5, 'text-anchor': 'end' }, grid).textContent = fmt.num(t * 100, 0) + '%';
        }
        points.forEach(function (p) {
          svg('text', { x: x(p.k), y: H - 8, 'text-anchor': 'middle', class: 'gm-vn-curve-k' }, grid).textContent =
            p.base ? ui.venue_curve_base : String(p.k);
        });
        var area = 'M' + x(0) + ',' + y(y0);
        points.forEach(function (p) {
          area += ' L' + x(p.k) + ',' + y(p.share);
        });
        area += ' L' + x(points[points.length - 1].k) + ',' + y(y0) + ' Z';
        svg('path', { d: area, class: 'gm-vn-curve-area' }, root);
        var flatFrom = null;
        for (var i = 1; i < points.length; i++) {
          var a = points[i - 1];
          var b = points[i];
          var flat = b.share - a.share < 1e-9;
          if (flat && flatFrom === null) {
            flatFrom = b.k;
          }
          svg('line', {
            x1: x(a.k),
            y1: y(a.share),
            x2: x(b.k),
            y2: y(b.share),
            class: 'gm-vn-curve-line' + (flat ? ' gm-vn-curve-flat' : ''),
          }, root);
        }
        points.forEach(function (p, j) {
          var dot = svg('circle', {
            cx: x(p.k),
            cy: y(p.share),
            r: p.base ? 3.5 : 4.5,
            class: p.base ? 'gm-vn-curve-base' : 'gm-vn-curve-point',
          }, root);
          if (!p.base) {
            dot.setAttribute('data-k', p.k);
            dot.setAttribute('data-share', p.share);
          }
          var title = svg('title', {}, dot);
          title.textContent = (p.base ? ui.venue_curve_base : GridMap.text('venue_curve_k', { k: p.k })) + ' · ' + pct(p.share);
          var prev = j > 0 ? points[j - 1].share : null;
          if (p.base || prev === null || p.share - prev > 1e-9 || j === points.length - 1) {
            // Today's share below right of its point, clear of the axis; the last one ends there.
            var last = j === points.length - 1;
            svg('text', {
              x: p.base ? x(p.k) + 7 : x(p.k),
              y: p.base ? y(p.share) + 14 : y(p.share) - 8,
              'text-anchor': p.base ? 'start' : last ? 'end' : 'middle',
              class: 'gm-vn-curve-label' + (p.base ? ' gm-vn-curve-label-base' : ''),
            }, root).textContent = pct(p.share);
          }
        });
        box.appendChild(root);
        q('[data-field="curve-note"]').textContent =
          flatFrom !== null ? GridMap.text('venue_curve_flat', { k: flatFrom }) : ui.venue_curve_hint;
        q('[data-field="curve-note"]').classList.toggle('gm-vn-curve-note-flat', flatFrom !== null);
      }

      function renderExcluded(plan) {
        var list = q('.gm-vn-excluded-list');
        list.textContent = '';
        plan.excluded.forEach(function (row) {
          var li = document.createElement('li');
          li.innerHTML =
            '<button type="button" class="gm-sc-item" data-candidate="' + GridMap.escape(row.candidate_id) + '">' +
            '<span class="gm-sc-item-name"></span><span class="gm-vn-reason"></span></button>';
          li.querySelector('.gm-sc-item-name').textContent = row.name || row.candidate_id;
          li.querySelector('.gm-vn-reason').textContent = row.reason;
          list.appendChild(li);
        });
        q('[data-field="excluded-count"]').textContent = fmt.int(plan.excluded.length);
        q('.gm-vn-excluded-none').hidden = plan.excluded.length > 0;
      }

      function renderExports() {
        qa('[data-format]').forEach(function (a) {
          var url = V.exportUrl(a.getAttribute('data-format'));
          a.setAttribute('href', url || '#');
          a.classList.toggle('disabled', !url);
          a.setAttribute('aria-disabled', url ? 'false' : 'true');
        });
      }

      function renderResult() {
        var result = V.result();
        q('.gm-vn-result').hidden = !result;
        if (!result) {
          return;
        }
        var plan = result.plan;
        renderParams(plan, result.params);
        renderCoverage(plan);
        renderPicks(plan);
        renderCurve(plan);
        renderExcluded(plan);
        renderExports();
      }

      el.addEventListener('click', function (e) {
        var item = e.target.closest('[data-candidate]');
        if (item && (item.classList.contains('gm-sc-item') || e.target.closest('.gm-vn-pick-head'))) {
          V.show(item.getAttribute('data-candidate'));
        }
      });

      // --- wiring ---------------------------------------------------------------------------

      function renderError() {
        var s = GridMap.state.venues || {};
        var box = q('.gm-vn-error');
        box.textContent = s.error || '';
        box.hidden = !s.error;
      }

      map.on('gridmap:venues', function (e) {
        el.classList.toggle('gm-panel-loading', V.isRunning());
        renderError();
        if (e.what === 'loaded' || e.what === 'names') {
          renderResult();
          if (e.what === 'loaded') {
            q('.gm-vn-body').scrollTop = 0;
          }
        }
        renderForm();
      });
      renderForm();
      renderResult();
    });
    control.addTo(GridMap.map);
    V.start({
      k: vc.k,
      minutes: vc.minutes,
      demand: vc.demand,
      weight_score: vc.weightScore,
      include_incomplete_legal: vc.includeIncompleteLegal,
      max_per_compound: vc.maxPerCompound,
    });
    return control;
  };
})();
