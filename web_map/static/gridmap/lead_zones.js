/*
 * gridmap: the building-lead zone page (楼长责任区): the preview of /api/analysis/lead-zones
 * drawn as zones (own / shared / rotating, locked ones outlined), buildings and lead stars;
 * the panel's settings, diff, save and exports; locking a zone from its popup.
 *
 * What the browser test reads: GridMap.state.leadZones ({ready, runs, zones, kinds, ...}).
 * Every user-facing string comes from the page's configuration (web_map/labels.py).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  if (GridMap.leadZones) {
    return;
  }
  var Z = (GridMap.leadZones = {});
  var footprints = null; // building id -> GeoJSON feature of /api/layers/buildings
  var last = null; // the last preview shown
  var params = null; // the settings it was computed with
  var panelEl = null;

  function cfg() {
    return GridMap.config.leadZones;
  }

  function ui() {
    return GridMap.ui;
  }

  function state() {
    if (!GridMap.state.leadZones) {
      GridMap.state.leadZones = { ready: false, runs: 0, saves: 0, locks: 0, zones: 0, kinds: {} };
    }
    return GridMap.state.leadZones;
  }

  /** The overlay of one part: zones, buildings or leads. */
  Z.layer = GridMap.overlayGroups('lead_');

  function kindLabel(kind) {
    var k = cfg().kinds[kind];
    return k ? k.label : kind;
  }

  function kindColor(kind) {
    var k = cfg().kinds[kind];
    return k ? k.color : '#888';
  }

  function zoneStyle(p) {
    return {
      pane: 'gm-lz-zones',
      color: p.locked ? cfg().lockedColor : kindColor(p.kind),
      weight: p.locked ? 3.5 : 1.5,
      dashArray: p.kind === 'rotating' ? '5 4' : p.kind === 'shared' ? null : '1 0',
      fillColor: kindColor(p.kind),
      fillOpacity: p.kind === 'own' ? 0.22 : 0.3,
      className: 'gm-lz-zone gm-lz-zone-' + p.kind + (p.locked ? ' gm-lz-locked' : ''),
    };
  }

  function buildingName(id) {
    var f = footprints && footprints[id];
    var p = f ? f.properties : {};
    return p.name || p.code || id;
  }

  function zonePopup(p, byBuilding) {
    var u = ui();
    var members = (p.members || []).map(function (id) {
      var b = byBuilding[id] || {};
      return '<li' + (b.is_lead ? ' class="gm-lz-lead"' : '') + '><b>' +
        GridMap.escape(buildingName(id)) + (b.is_lead ? ' ★' : '') + '</b>' +
        (b.reason_zh ? '<div class="gm-lz-reason">' + GridMap.escape(b.reason_zh) + '</div>' : '') +
        '</li>';
    });
    // Locking is saving: only for roles that may save plans.
    var lockBtn = !GridMap.may('save_plans') ? '' : '<button type="button" class="btn btn-sm gm-lz-lock" data-zone="' +
      GridMap.escape(p.zone_id) + '" data-locked="' + (p.locked ? '1' : '0') + '">' +
      '<i class="fa-solid ' + (p.locked ? 'fa-lock-open' : 'fa-lock') + '"></i> ' +
      GridMap.escape(p.locked ? u.lz_unlock : u.lz_lock) + '</button>';
    var rows = [
      [u.lz_zone_id, GridMap.escape(p.zone_id)],
      [u.lz_kind, GridMap.escape(kindLabel(p.kind))],
      [u.lz_households, GridMap.withUnit(p.households, u.unit_households)],
      [u.lz_party_members, GridMap.withUnit(p.party_members, u.unit_people) +
        (p.has_party_member ? '' : ' <span class="gm-muted">' + GridMap.escape(u.lz_no_party) + '</span>')],
      [u.lz_lead_building, GridMap.escape(buildingName(p.lead_building_id)) + ' ★'],
      [u.lz_party_group, GridMap.escape(p.party_group_suggested ? u.lz_party_group_yes : u.lz_party_group_no)],
      [u.lz_locked, GridMap.badge(!!p.locked, u.lz_locked_yes, u.lz_locked_no)],
    ];
    return '<div class="gm-popup gm-lz-popup"><div class="gm-popup-kicker">' + GridMap.escape(u.lz_zone) +
      '</div><div class="gm-popup-title">' + GridMap.escape(p.zone_id) + '</div><table class="gm-popup-table">' +
      rows.map(function (r) {
        return '<tr><th>' + GridMap.escape(r[0]) + '</th><td>' + r[1] + '</td></tr>';
      }).join('') + '</table><div class="gm-lz-members-head">' + GridMap.escape(u.lz_buildings) +
      '（' + (p.members || []).length + '）</div><ol class="gm-lz-members">' + members.join('') + '</ol>' +
      (lockBtn ? '<div class="gm-lz-popup-actions">' + lockBtn + '</div>' : '') + '</div>';
  }

  function buildingPopup(b) {
    var u = ui();
    var f = footprints[b.building_id];
    var p = f ? f.properties : {};
    return '<div class="gm-popup gm-lz-popup"><div class="gm-popup-kicker">' + GridMap.escape(u.building) +
      '</div><div class="gm-popup-title">' + GridMap.escape(buildingName(b.building_id)) + (b.is_lead ? ' ★' : '') +
      '</div><table class="gm-popup-table">' +
      '<tr><th>' + GridMap.escape(u.lz_zone) + '</th><td>' + GridMap.escape(b.zone_id) + '（' + GridMap.escape(kindLabel(b.zone_kind)) + '）</td></tr>' +
      '<tr><th>' + GridMap.escape(u.households) + '</th><td>' + GridMap.withUnit(p.households, u.unit_households) + '</td></tr>' +
      '<tr><th>' + GridMap.escape(u.occupancy) + '</th><td>' + GridMap.fmt.pct(p.occupancy) + '</td></tr>' +
      '<tr><th>' + GridMap.escape(u.lz_rule) + '</th><td>' + GridMap.escape(b.reason_zh || '') + '</td></tr>' +
      '</table></div>';
  }

  function centre(feature) {
    return L.geoJSON(feature).getBounds().getCenter();
  }

  function draw(result) {
    var byBuilding = {};
    (result.buildings || []).forEach(function (b) {
      byBuilding[b.building_id] = b;
    });
    ['zones', 'buildings', 'leads'].forEach(function (part) {
      Z.layer(part).clearLayers();
    });
    L.geoJSON(result.zones, {
      style: function (f) {
        return zoneStyle(f.properties);
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          return zonePopup(f.properties, byBuilding);
        }, {
          maxWidth: 340,
          className: 'gm-lz-popup-wrap',
          // keep the popup clear of the header bar and the side panel
          autoPanPaddingTopLeft: [20, 80],
          autoPanPaddingBottomRight: [360, 20],
        });
      },
    }).addTo(Z.layer('zones'));

    (result.buildings || []).forEach(function (b) {
      var f = footprints[b.building_id];
      if (!f) {
        return;
      }
      var shape = L.geoJSON(f, {
        style: {
          pane: 'gm-buildings',
          color: '#33404d',
          weight: 0.8,
          fillColor: kindColor(b.zone_kind),
          fillOpacity: 0.85,
          className: 'gm-lz-building',
        },
      });
      shape.bindPopup(function () {
        return buildingPopup(b);
      });
      shape.addTo(Z.layer('buildings'));
      if (b.is_lead) {
        L.marker(centre(f), {
          icon: L.divIcon({
            className: 'gm-lz-star',
            html: '<i class="fa-solid fa-star" style="color:' + cfg().starColor + '"></i>',
            iconSize: [16, 16],
            iconAnchor: [8, 8],
          }),
          title: buildingName(b.building_id),
          keyboard: false,
        })
          .bindPopup(function () {
            return buildingPopup(b);
          })
          .addTo(Z.layer('leads'));
      }
    });
    showStarsByZoom();
  }

  // One star per zone crowds the community view: show lead stars from street level (z17).
  var STAR_MIN_ZOOM = 17;
  function showStarsByZoom() {
    var map = GridMap.map;
    if (!map) return;
    var wanted = map.getZoom() >= STAR_MIN_ZOOM;
    var leads = Z.layer('leads');
    if (wanted && !map.hasLayer(leads)) leads.addTo(map);
    if (!wanted && map.hasLayer(leads)) map.removeLayer(leads);
    if (!map._gmStarsHooked) {
      map.on('zoomend', showStarsByZoom);
      map._gmStarsHooked = true;
    }
  }

  function readForm() {
    var form = panelEl.querySelector('.gm-lz-form');
    return {
      community: GridMap.config.community,
      min_households: form.elements.min_households.value || null,
      min_occupancy: form.elements.min_occupancy.value || null,
      max_walk_m: form.elements.max_walk_m.value || null,
      cross_compounds: form.elements.cross_compounds.checked ? 'true' : 'false',
    };
  }

  function set(selector, text) {
    panelEl.querySelectorAll(selector).forEach(function (n) {
      n.textContent = text;
    });
  }

  function showError(text) {
    var box = panelEl.querySelector('.gm-lz-error');
    box.hidden = !text;
    box.textContent = text || '';
  }

  function fill(result) {
    var u = ui();
    var zones = result.zones.features || [];
    var zoneCounts = {};
    var diameters = 0;
    zones.forEach(function (f) {
      zoneCounts[f.properties.kind] = (zoneCounts[f.properties.kind] || 0) + 1;
      diameters += Number(f.properties.diameter_m) || 0;
    });
    Object.keys(cfg().kinds).forEach(function (kind) {
      var node = panelEl.querySelector('[data-count="' + kind + '"]');
      node.dataset.buildings = String(result.kinds[kind] || 0);
      node.dataset.zones = String(zoneCounts[kind] || 0);
      node.textContent = (zoneCounts[kind] || 0) + ' ' + u.lz_unit_zones + ' · ' +
        (result.kinds[kind] || 0) + ' ' + u.unit_buildings;
    });
    set('[data-count="total"]', zones.length + ' ' + u.lz_unit_zones);
    set('[data-field="diameter"]', zones.length ? GridMap.fmt.num(diameters / zones.length) + ' ' + u.lz_unit_m : u.unknown);
    panelEl.querySelector('.gm-lz-approximate').hidden = !result.approximate;
    var d = result.diff || {};
    set('[data-diff="added"]', (d.added || []).length);
    set('[data-diff="removed"]', (d.removed || []).length);
    set('[data-diff="changed"]', (d.changed || []).length);
    set('[data-diff="unchanged"]', d.unchanged === undefined ? u.unknown : d.unchanged);
    var list = panelEl.querySelector('.gm-lz-diff-list');
    var items = [];
    (d.changed || []).slice(0, 8).forEach(function (c) {
      items.push('<li><b>' + GridMap.escape(c.zone_id) + '</b> +' + (c['in'] || []).length + ' / −' + (c.out || []).length + '</li>');
    });
    if (!(d.removed || []).length && !(d.changed || []).length && !d.unchanged) {
      items.push('<li class="gm-muted">' + GridMap.escape(u.lz_no_saved) + '</li>');
    }
    list.innerHTML = items.join('');
    var save = panelEl.querySelector('.gm-lz-save');
    if (save) {
      save.disabled = false;
    }
  }

  function exportLinks() {
    panelEl.querySelectorAll('.gm-lz-export').forEach(function (a) {
      var q = new URLSearchParams({ community: GridMap.config.community, format: a.dataset.format });
      a.href = GridMap.config.apiRoot + '/api/lead-zones/roster?' + q.toString();
    });
  }

  function loadFootprints() {
    if (footprints) {
      return Promise.resolve(footprints);
    }
    return GridMap.fetchLayer('buildings').then(function (fc) {
      footprints = {};
      (fc.features || []).forEach(function (f) {
        var p = f.properties || {};
        [f.id, p.id, p.code, p.building_id].forEach(function (key) {
          if (key !== undefined && key !== null && !footprints[key]) {
            footprints[key] = f;
          }
        });
      });
      return footprints;
    });
  }

  /** Compute the preview with the panel's settings (or ``values``) and draw it. */
  Z.preview = function (values) {
    var s = state();
    if (s.blocked) {
      // Without buildings there is nothing to divide: the panel says what to import.
      return Promise.resolve(null);
    }
    s.ready = false;
    params = values || readForm();
    showError(null);
    return loadFootprints()
      .then(function () {
        return GridMap.fetchJSON('/api/analysis/lead-zones', params);
      })
      .then(function (result) {
        last = result;
        draw(result);
        fill(result);
        s.runs++;
        s.zones = (result.zones.features || []).length;
        s.kinds = result.kinds;
        s.diff = result.diff;
        s.ready = true;
        return result;
      })
      .catch(function (err) {
        var text = GridMap.errorText(err);
        showError(GridMap.text('lz_failed', { error: text }));
        s.error = text;
        throw err;
      });
  };

  /** Save the plan previewed (with its settings), then preview again (the diff is now empty). */
  Z.save = function () {
    var s = state();
    return GridMap.postJSON('/api/lead-zones/save', undefined, params || readForm())
      .then(function (res) {
        s.saves++;
        s.saved = res;
        var box = panelEl.querySelector('.gm-lz-saved');
        box.hidden = false;
        box.textContent = GridMap.text('lz_saved', { n: res.saved });
        return Z.preview(params).then(function () {
          return res;
        });
      })
      .catch(function (err) {
        showError(GridMap.text('lz_save_failed', { error: GridMap.errorText(err) }));
        throw err;
      });
  };

  /** Lock (or unlock) a saved zone, then preview again so its outline shows it. */
  Z.lock = function (zoneId, locked) {
    var s = state();
    GridMap.map.closePopup();
    var path = '/api/lead-zones/' + encodeURIComponent(zoneId) + '/lock';
    return GridMap.postJSON(path, { locked: !!locked }, { community: GridMap.config.community })
      .then(function (res) {
        s.locks++;
        return Z.preview(params).then(function () {
          return res;
        });
      })
      .catch(function (err) {
        GridMap.notify(GridMap.text('lz_lock_failed', { error: GridMap.errorText(err) }));
        throw err;
      });
  };

  /** The panel: wire the form, save, exports and the popups' lock buttons; run a preview. */
  Z.panel = function (elementId, position) {
    state();
    var pane = GridMap.map.createPane('gm-lz-zones');
    pane.style.zIndex = 355;
    GridMap.control(elementId, position, function (el) {
      panelEl = el;
      el.querySelector('.gm-lz-form').addEventListener('submit', function (e) {
        e.preventDefault();
        Z.preview().catch(function () {});
      });
      var save = el.querySelector('.gm-lz-save'); // only for roles that may save plans
      if (save) {
        save.addEventListener('click', function () {
          Z.save().catch(function () {});
        });
      }
      exportLinks();
      if (GridMap.missing('buildings')) {
        state().blocked = 'buildings';
        el.querySelector('.gm-lz-preview').disabled = true;
        el.classList.add('gm-lz-blocked');
      }
    }).addTo(GridMap.map);
    GridMap.map.getContainer().addEventListener('click', function (e) {
      var btn = e.target.closest && e.target.closest('.gm-lz-lock');
      if (btn) {
        Z.lock(btn.dataset.zone, btn.dataset.locked !== '1').catch(function () {});
      }
    });
    Z.preview().catch(function () {});
  };

  /** Open the popup of one zone (from the panel's lists, or a test). */
  Z.openZone = function (zoneId) {
    var found = null;
    Z.layer('zones').eachLayer(function (g) {
      g.eachLayer(function (l) {
        if (l.feature && l.feature.properties.zone_id === zoneId) {
          found = l;
        }
      });
    });
    if (found) {
      var at = found.getBounds().getCenter();
      found.openPopup(at);
    }
    return !!found;
  };

  Z.last = function () {
    return last;
  };
})();
