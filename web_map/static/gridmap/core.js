/*
 * gridmap: the officer map's shared code: configuration, the loading count, API calls,
 * number formats, popups, building shading and what a click on the map opens.
 *
 * Every user-facing string comes from the page's configuration (web_map/labels.py); this file
 * holds none. Controls talk to each other through events on the map:
 *   gridmap:busy     {pending}  the number of API calls and tile loads under way
 *   gridmap:shading  {scheme}   the building shading was switched
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  // What the browser test reads: counts of what has loaded and rendered.
  GridMap.state = {
    buildingFeaturesDrawn: 0,
    buildingTilesLoaded: 0,
    layersLoaded: {},
    statsLoaded: 0,
    searches: 0,
    loadingShown: 0,
    shading: null,
    basemap: null,
  };

  var pending = 0;

  /** Remember the page's configuration and strings (every page, with a map or without). */
  GridMap.setup = function (config) {
    GridMap.config = config;
    GridMap.ui = config.labels;
    GridMap.layers = GridMap.layers || {};
  };

  /**
   * Whether the logged-in user's role may do ``permission`` (a value of
   * gis_api.access.Permission: 'analyse', 'save_plans', 'history', 'restore', ...). A page
   * built without a user (its HTML tests) may do everything; the API refuses anyway.
   */
  GridMap.may = function (permission) {
    var user = GridMap.config && GridMap.config.user;
    return !user || (user.permissions || []).indexOf(permission) >= 0;
  };

  /** Start the page: remember the map and configuration, make panes, wire map clicks. */
  GridMap.init = function (map, config) {
    GridMap.map = map;
    GridMap.setup(config);
    GridMap.state.shading = config.shading.initial;
    GridMap.state.basemap = config.basemap;
    GridMap.layers = {};

    // Panes, bottom to top: compound areas, buildings, boundaries, highlight; markers above.
    // Panes, bottom to top: the community's ground, compounds, buildings, grid lines, the
    // community's outline, the highlight; markers and popups stay in Leaflet's panes above.
    // Areas are not clickable (a click finds the area under it), so buildings stay reachable.
    [
      ['gm-ground', 340],
      ['gm-areas', 350],
      ['gm-buildings', 370],
      ['gm-boundaries', 390],
      ['gm-outline', 392],
      ['gm-highlight', 395],
      ['gm-labels', 450],
    ].forEach(function (p) {
      var pane = map.createPane(p[0]);
      pane.style.zIndex = p[1];
      if (p[0] !== 'gm-buildings') {
        pane.style.pointerEvents = 'none';
      }
    });
    L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>');

    function zoomClasses() {
      var z = map.getZoom();
      var el = map.getContainer();
      [14, 15, 16, 17].forEach(function (level) {
        L.DomUtil[z >= level ? 'addClass' : 'removeClass'](el, 'gm-z' + level);
      });
    }
    map.on('zoomend', zoomClasses);
    zoomClasses();

    if (config.bounds) {
      GridMap.fitCommunity();
    }

    map.on('baselayerchange', function (e) {
      if (e.layer && e.layer.gmKind) {
        GridMap.state.basemap = e.layer.gmKind;
      }
    });
    map.on('click', GridMap.openAreaPopup);
    map.on('popupclose', function (e) {
      if (e.popup === GridMap._highlightOwner) {
        GridMap.clearHighlight();
      }
    });
    // The change history of a feature, from the link in its popup (GridMap.historyLink).
    map.getContainer().addEventListener('click', GridMap.history.onClick);
  };

  // --- loading ------------------------------------------------------------------------------

  /** Count one more (+1) or one fewer (-1) load under way, and tell the controls. */
  GridMap.busy = function (delta) {
    pending = Math.max(0, pending + delta);
    if (GridMap.map) {
      GridMap.map.fire('gridmap:busy', { pending: pending });
    }
  };

  GridMap.pending = function () {
    return pending;
  };

  /**
   * Show a short message at the top of the map (or page) for a few seconds: a problem in red,
   * or, with ``kind`` 'ok', something done in green.
   */
  GridMap.notify = function (text, kind) {
    var box = document.querySelector('.gm-toast');
    if (!box) {
      box = document.createElement('div');
      box.className = 'gm-toast';
      box.setAttribute('role', 'status');
      (GridMap.map ? GridMap.map.getContainer() : document.body).appendChild(box);
    }
    box.textContent = text;
    box.classList.toggle('gm-toast-ok', kind === 'ok');
    box.classList.add('gm-toast-visible');
    clearTimeout(GridMap._toastTimer);
    GridMap._toastTimer = setTimeout(function () {
      box.classList.remove('gm-toast-visible');
    }, 4000);
  };

  /** The CSRF token the login page set: every write from a page sends it back (X-CSRF-Token). */
  GridMap.csrfToken = function () {
    var found = document.cookie.split('; ').filter(function (c) {
      return c.indexOf('gridmap_csrf=') === 0;
    })[0];
    return found ? decodeURIComponent(found.slice('gridmap_csrf='.length)) : '';
  };

  /** GET an API path with query parameters as JSON, counted by the loading indicator. */
  GridMap.fetchJSON = function (path, params, options) {
    var query = new URLSearchParams();
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      if (Array.isArray(value)) {
        // A parameter given several times (?status=a&status=b).
        value.forEach(function (v) {
          query.append(key, v);
        });
      } else if (value !== null && value !== undefined) {
        query.set(key, value);
      }
    });
    var url = GridMap.config.apiRoot + path + (query.toString() ? '?' + query.toString() : '');
    GridMap.busy(1);
    options = Object.assign({ headers: { Accept: 'application/json' } }, options || {});
    var method = (options.method || 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      options.headers = Object.assign({}, options.headers, { 'X-CSRF-Token': GridMap.csrfToken() });
    }
    return fetch(url, Object.assign({ credentials: 'same-origin' }, options))
      .then(function (response) {
        if (response.status === 401) {
          // The login expired: back to the login page, returning here afterwards.
          window.location.href = GridMap.loginURL(window.location.pathname + window.location.search);
        }
        if (response.status === 204) {
          return null;
        }
        if (!response.ok) {
          // Keep the API's own (zh-CN) message, when it sent one, for the user to read.
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (body) {
              var err = new Error(response.status + ' ' + url);
              err.status = response.status;
              err.detail = GridMap.detailOf(body);
              throw err;
            });
        }
        return response.json();
      })
      .finally(function () {
        GridMap.busy(-1);
      });
  };

  /** The login page's URL, coming back to ``next`` (a local path) afterwards. */
  GridMap.loginURL = function (next) {
    var urls = (GridMap.config && GridMap.config.urls) || {};
    var login = urls.login || '/login';
    return next ? login + '?next=' + encodeURIComponent(next) : login;
  };

  /** POST ``body`` (if any) as JSON to an API path with query parameters, as fetchJSON. */
  GridMap.postJSON = function (path, body, params) {
    return GridMap.fetchJSON(path, params || {}, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  };

  /** GET every feature of one API layer of the community (``/api/layers/{name}``). */
  GridMap.fetchLayer = function (name) {
    return GridMap.fetchJSON('/api/layers/' + name, { community: GridMap.config.community, limit: 10000 });
  };

  var CJK = /[\u3400-\u9fff]/;

  /** The API's own message of an error answer: ``detail[0].msg`` (or a plain ``detail``). */
  GridMap.detailOf = function (body) {
    var detail = body && body.detail;
    if (Array.isArray(detail)) {
      detail = detail[0] && typeof detail[0].msg === 'string' ? detail[0].msg : null;
    }
    return typeof detail === 'string' && detail ? detail : null;
  };

  /**
   * What to tell the user about a failed call, in Chinese: the API's message when it wrote
   * one for people (zh-CN), else what kind of failure it was. Raw English never shows.
   */
  GridMap.errorText = function (err) {
    if (err && typeof err.detail === 'string' && CJK.test(err.detail)) {
      return err.detail;
    }
    if (err && err.status) {
      return GridMap.text(err.status >= 500 ? 'error_server' : 'error_request', { status: err.status });
    }
    return GridMap.ui.error_offline;
  };

  /** The configured kind of service point ({label, color, icon}); an unknown kind is "other". */
  GridMap.serviceKind = function (kind) {
    var kinds = GridMap.config.serviceKinds;
    return kinds[kind] || kinds.other;
  };

  /** Whether the community has no data in ``layer`` (the page was told so). */
  GridMap.missing = function (layer) {
    return (GridMap.config.missing || []).indexOf(layer) >= 0;
  };

  /** Fill in "{name}" placeholders of a configured string. */
  GridMap.text = function (key, values) {
    var s = GridMap.ui[key] || key;
    Object.keys(values || {}).forEach(function (k) {
      s = s.split('{' + k + '}').join(values[k]);
    });
    return s;
  };

  // --- formats ------------------------------------------------------------------------------

  var UNKNOWN = function () {
    return GridMap.ui.unknown;
  };

  GridMap.fmt = {
    int: function (n) {
      return n === null || n === undefined || n === '' ? UNKNOWN() : Number(n).toLocaleString('zh-CN');
    },
    pct: function (share) {
      return share === null || share === undefined || share === ''
        ? UNKNOWN()
        : Math.round(Number(share) * 100) + '%';
    },
    num: function (n, digits) {
      return n === null || n === undefined
        ? UNKNOWN()
        : Number(n).toLocaleString('zh-CN', { maximumFractionDigits: digits || 0 });
    },
    /** A share as a percentage to one decimal: 0.8123 -> "81.2%". */
    share: function (share) {
      return share === null || share === undefined ? UNKNOWN() : GridMap.fmt.num(share * 100, 1) + '%';
    },
    /** A change of share in percentage points, signed, to one decimal: 0.031 -> "+3.1". */
    points: function (delta) {
      var v = Math.round(delta * 1000) / 10;
      return (v > 0 ? '+' : v < 0 ? '\u2212' : '\u00b1') + GridMap.fmt.num(Math.abs(v), 1);
    },
  };

  GridMap.escape = function (value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;');
  };

  // --- shading ------------------------------------------------------------------------------

  /** The shading scheme in force: {property, breaks, colors, classes, nodata}. */
  GridMap.scheme = function () {
    return GridMap.config.shading.schemes[GridMap.state.shading];
  };

  /** The colour of a building under the current scheme. */
  GridMap.shadeColor = function (props) {
    var scheme = GridMap.scheme();
    var value = props[scheme.property];
    if (value === null || value === undefined || value === '' || isNaN(Number(value))) {
      return scheme.nodata;
    }
    var k = 0;
    while (k < scheme.breaks.length && Number(value) >= scheme.breaks[k]) {
      k++;
    }
    return scheme.colors[k];
  };

  /** The canvas style of one building at zoom z. */
  GridMap.buildingStyle = function (props, z) {
    return {
      fill: true,
      fillColor: GridMap.shadeColor(props),
      fillOpacity: 0.88,
      color: '#4a5563',
      weight: z >= 17 ? 0.9 : 0.5,
      opacity: z >= 16 ? 0.9 : 0.6,
    };
  };

  /** Switch the building shading; the buildings restyle in place, nothing is fetched. */
  GridMap.setShading = function (name) {
    if (!GridMap.config.shading.schemes[name] || name === GridMap.state.shading) {
      return;
    }
    GridMap.state.shading = name;
    if (GridMap.layers.buildings && GridMap.layers.buildings.restyle) {
      GridMap.layers.buildings.restyle();
    }
    GridMap.map.fire('gridmap:shading', { scheme: name });
  };

  // --- popups -------------------------------------------------------------------------------

  function rows(pairs) {
    return pairs
      .map(function (p) {
        return (
          '<tr><th>' + GridMap.escape(p[0]) + '</th><td>' + (p[2] ? p[1] : GridMap.escape(p[1])) + '</td></tr>'
        );
      })
      .join('');
  }

  function card(kind, title, pairs, extraClass) {
    return (
      '<div class="gm-popup ' + (extraClass || '') + '">' +
      '<div class="gm-popup-kind">' + GridMap.escape(kind) + '</div>' +
      '<div class="gm-popup-title">' + GridMap.escape(title || GridMap.ui.unknown) + '</div>' +
      '<table class="gm-popup-table">' + rows(pairs) + '</table></div>'
    );
  }

  function yesNo(v) {
    if (v === null || v === undefined) {
      return GridMap.ui.unknown;
    }
    return v ? GridMap.ui.yes : GridMap.ui.no;
  }

  function withUnit(value, unit) {
    var s = GridMap.fmt.int(value);
    return s === GridMap.ui.unknown ? s : s + ' ' + unit;
  }

  function badge(ok, yes, no) {
    return '<span class="gm-badge ' + (ok ? 'gm-badge-on' : 'gm-badge-off') + '">' +
      GridMap.escape(ok ? yes : no) + '</span>';
  }

  // Shared with the other pages' popups.
  GridMap.card = card;
  GridMap.badge = badge;
  GridMap.withUnit = withUnit;

  GridMap.popups = {
    /** A building's popup; ``id`` (its database id, else ``p._gmId`` or ``p.id``) for its history. */
    buildings: function (p, id) {
      var u = GridMap.ui;
      var fid = id !== undefined && id !== null ? id : p._gmId !== undefined && p._gmId !== null ? p._gmId : p.id;
      return card(u.building, p.name || p.code, [
        [u.compound_name, p.compound_name || u.unknown],
        [u.grid_name, p.grid_name || u.unknown],
        [u.households, withUnit(p.households, u.unit_households)],
        [u.residents, withUnit(p.residents, u.unit_people)],
        [u.occupancy, GridMap.fmt.pct(p.occupancy)],
        [u.floors, withUnit(p.floors, u.unit_floors)],
        [u.party_members, withUnit(p.party_members, u.unit_people)],
        [u.lead_name, p.lead_name ? GridMap.escape(p.lead_name) : '<span class="gm-muted">' + GridMap.escape(u.no_lead) + '</span>', true],
      ]).replace(/<\/div>$/, GridMap.historyLink('buildings', fid) + '</div>');
    },
    compounds: function (p) {
      var u = GridMap.ui;
      return card(u.compound, p.name || p.code, [
        [u.households, withUnit(p.households, u.unit_households)],
        [u.residents, withUnit(p.residents, u.unit_people)],
        [u.build_year, p.build_year || u.unknown],
        [u.maturity, (GridMap.config.maturity || {})[p.maturity] || u.unknown],
        [u.property_company, p.property_company || u.no_property],
        [u.has_party_branch, badge(p.has_party_branch, u.yes, u.no), true],
        [u.has_owners_committee, badge(p.has_owners_committee, u.yes, u.no), true],
      ]);
    },
    service_points: function (p) {
      var u = GridMap.ui;
      var kind = GridMap.serviceKind(p.kind);
      var pairs = [
        [u.kind, '<span class="gm-kind-dot" style="background:' + kind.color + '"></span>' + GridMap.escape(kind.label), true],
        [u.is_open, badge(p.is_open !== false, u.open, u.closed), true],
      ];
      if (p.floor_area_m2) {
        pairs.push([u.floor_area_m2, GridMap.fmt.num(p.floor_area_m2) + ' ' + u.square_metres]);
      }
      if (p.compound_name) {
        pairs.push([u.compound_name, p.compound_name]);
      }
      if (p.address) {
        pairs.push([u.address, p.address]);
      }
      return card(u.service_point, p.name || p.code, pairs);
    },
    gates: function (p) {
      var u = GridMap.ui;
      return card(u.gate, p.name || p.code, [
        [u.kind, (GridMap.config.gateKinds || {})[p.kind] || u.unknown],
        [u.is_open, badge(p.is_open !== false, u.open, u.closed), true],
        [u.compound_name, p.compound_name || p.compound || u.unknown],
      ]);
    },
    candidate_venues: function (p) {
      var u = GridMap.ui;
      return card(u.candidate_venue, p.name || p.code, [
        [u.kind, (GridMap.config.venueKinds || {})[p.kind] || u.unknown],
        [u.floor_area_m2, p.floor_area_m2 ? GridMap.fmt.num(p.floor_area_m2) + ' ' + u.square_metres : u.unknown],
        [u.ground_floor, yesNo(p.ground_floor)],
        [u.compound_name, p.compound_name || u.unknown],
      ]);
    },
    grids: function (p) {
      var u = GridMap.ui;
      return card(u.grid, p.name || p.code, [
        [u.officer_name, p.officer_name || u.unknown],
        [u.officer_phone, p.officer_phone || u.unknown],
        [u.households, withUnit(p.households, u.unit_households)],
      ]);
    },
    communities: function (p) {
      var u = GridMap.ui;
      return card(u.community, p.name || p.code, [
        [u.households, withUnit(p.households, u.unit_households)],
        [u.residents, withUnit(p.residents, u.unit_people)],
        [u.party_members, withUnit(p.party_members, u.unit_people)],
      ]);
    },
  };

  // --- areas under a click ------------------------------------------------------------------

  function ringContains(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0];
      var yi = ring[i][1];
      var xj = ring[j][0];
      var yj = ring[j][1];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
    return inside;
  }

  /** Whether a GeoJSON (Multi)Polygon contains the point (lon, lat). */
  GridMap.contains = function (geometry, lon, lat) {
    if (!geometry) {
      return false;
    }
    var polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
    return polygons.some(function (rings) {
      if (!ringContains(rings[0], lon, lat)) {
        return false;
      }
      for (var h = 1; h < rings.length; h++) {
        if (ringContains(rings[h], lon, lat)) {
          return false;
        }
      }
      return true;
    });
  };

  /** The feature layer of a loaded area layer that contains latlng, smallest first. */
  GridMap.areaAt = function (name, latlng) {
    var group = GridMap.layers[name];
    if (!group || !GridMap.map.hasLayer(group)) {
      return null;
    }
    var found = null;
    group.eachLayer(function (layer) {
      if (layer.feature && layer.getBounds().contains(latlng) &&
          GridMap.contains(layer.feature.geometry, latlng.lng, latlng.lat)) {
        found = layer;
      }
    });
    return found;
  };

  /**
   * What a click on the map or on a building does first, when something is waiting for one
   * (placing a new event): ``GridMap.clickHook(latlng, buildingProperties)`` returns true when
   * it took the click. None by default.
   */
  GridMap.clickHook = null;

  /** Whether the click hook, if any, took this click (``props``: the building's, or null). */
  GridMap.hooked = function (latlng, props) {
    return typeof GridMap.clickHook === 'function' && GridMap.clickHook(latlng, props || null) === true;
  };

  /** A click on the map (not on a building or marker) opens the compound, else grid, there. */
  GridMap.openAreaPopup = function (e) {
    if (GridMap.hooked(e.latlng, null)) {
      return;
    }
    var order = ['compounds', 'grids', 'communities'];
    for (var i = 0; i < order.length; i++) {
      var layer = GridMap.areaAt(order[i], e.latlng);
      if (layer) {
        GridMap.showPopup(e.latlng, GridMap.popups[order[i]](layer.feature.properties), layer.feature);
        return;
      }
    }
  };

  // --- highlight ----------------------------------------------------------------------------

  /** Open a popup at latlng; outline ``feature`` (if given) while it stays open. */
  GridMap.showPopup = function (latlng, html, feature) {
    var popup = L.popup({ maxWidth: 320, minWidth: 220 }).setLatLng(latlng).setContent(html);
    popup.openOn(GridMap.map);
    GridMap.highlight(feature, popup);
    GridMap._popup = popup;
    return popup;
  };

  /** Outline one GeoJSON feature above everything else (one at a time). */
  GridMap.highlight = function (feature, owner) {
    GridMap.clearHighlight();
    if (!feature || !feature.geometry) {
      return;
    }
    GridMap._highlightOwner = owner || null;
    GridMap._highlight = L.geoJSON(feature, {
      pane: 'gm-highlight',
      interactive: false,
      style: function () {
        return { color: '#ffb300', weight: 4, opacity: 1, fillColor: '#ffe082', fillOpacity: 0.25, className: 'gm-highlight' };
      },
    }).addTo(GridMap.map);
  };

  GridMap.clearHighlight = function () {
    if (GridMap._highlight) {
      GridMap.map.removeLayer(GridMap._highlight);
      GridMap._highlight = null;
    }
    var id = GridMap._highlightBuilding;
    if (id !== undefined && id !== null && GridMap.layers.buildings) {
      GridMap.layers.buildings.resetFeatureStyle(id);
    }
    GridMap._highlightBuilding = null;
    GridMap._highlightOwner = null;
  };

  /**
   * Turn a server-rendered element into a Leaflet control at ``position``. A panel with a
   * ``data-drawer`` becomes a drawer on small screens (GridMap.drawer) once on the map.
   */
  GridMap.control = function (elementId, position, onAdd) {
    var Control = L.Control.extend({
      onAdd: function (map) {
        var el = document.getElementById(elementId);
        el.hidden = false;
        L.DomEvent.disableClickPropagation(el);
        L.DomEvent.disableScrollPropagation(el);
        if (onAdd) {
          onAdd(el, map);
        }
        return el;
      },
      addTo: function (map) {
        L.Control.prototype.addTo.call(this, map);
        var el = this.getContainer();
        if (el && el.hasAttribute('data-drawer')) {
          GridMap.drawer(el);
        }
        return this;
      },
    });
    return new Control({ position: position });
  };

  // --- small screens ------------------------------------------------------------------------

  /*
   * The layouts, as the styles' media queries name them (gridmap.css, "small screens"):
   *   phone   a narrow or a low window: panels are bottom sheets, closed at first;
   *   tablet  up to 1180 px wide: panels are drawers, the legend closed at first;
   *   desktop wider: everything open, as the pages were designed.
   */
  var LAYOUTS = {
    phone: '(max-width: 640px), (max-height: 500px)',
    tablet: '(max-width: 1180px)',
  };
  GridMap.LAYOUTS = LAYOUTS;

  /** The layout in force: 'phone', 'tablet' or 'desktop'. */
  GridMap.layout = function () {
    if (window.matchMedia(LAYOUTS.phone).matches) {
      return 'phone';
    }
    return window.matchMedia(LAYOUTS.tablet).matches ? 'tablet' : 'desktop';
  };

  /**
   * Leaflet's padding options for fitting or flying to bounds, from what the page would leave
   * free on a desktop (``topLeft``, ``bottomRight``: [x, y] pixels). On a phone the panels are
   * closed (16 px); on a tablet the legend is closed (its width is not kept free); and padding
   * never takes more than the map is wide or high, where Leaflet would compute no zoom at all.
   */
  GridMap.padding = function (topLeft, bottomRight) {
    var layout = GridMap.layout();
    var tl = topLeft.slice();
    var br = bottomRight.slice();
    if (layout === 'phone') {
      tl = [16, 16];
      br = [16, 16];
    } else if (layout === 'tablet') {
      tl[0] = Math.min(tl[0], 24);
    }
    var size = GridMap.map ? GridMap.map.getSize() : L.point(window.innerWidth, window.innerHeight);
    [0, 1].forEach(function (axis) {
      var room = (axis ? size.y : size.x) * 0.6;
      var used = tl[axis] + br[axis];
      if (used > room) {
        tl[axis] = Math.round((tl[axis] * room) / used);
        br[axis] = Math.round((br[axis] * room) / used);
      }
    });
    return { paddingTopLeft: tl, paddingBottomRight: br };
  };

  /** Fit the map to the community's bounds, leaving the open panels' room free. */
  GridMap.fitCommunity = function () {
    var config = GridMap.config;
    var b = config.bounds;
    var padding = GridMap.padding([config.legendWidth || 24, 24], [config.panelWidth || 24, 24]);
    GridMap.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], Object.assign({ animate: false }, padding));
  };

  var DRAWER_ICONS = {
    stats: 'fa-chart-simple',
    legend: 'fa-layer-group',
    circle: 'fa-person-walking',
    venues: 'fa-house-flag',
    lead_zones: 'fa-people-roof',
    split: 'fa-object-ungroup',
  };
  GridMap.drawers = {};

  /** Close every open drawer but ``keep`` (a phone shows one bottom sheet at a time). */
  GridMap.closeDrawers = function (keep) {
    Object.keys(GridMap.drawers).forEach(function (kind) {
      if (kind !== keep) {
        GridMap.drawers[kind].open(false);
      }
    });
  };

  /**
   * Make a panel (``el``, with ``data-drawer``) a drawer on small screens: a toggle button in
   * its corner opens it, a close button in it closes it. On a phone it is a bottom sheet,
   * closed at first; on a tablet a drawer, open at first (the legend closed); on a desktop
   * both buttons are hidden and the panel is shown as it always was (gridmap.css).
   */
  GridMap.drawer = function (el) {
    var kind = el.getAttribute('data-drawer');
    var texts = (GridMap.config && GridMap.config.drawers) || {};
    var label = texts[kind] || kind;
    el.classList.add('gm-drawer');

    var toggle = L.DomUtil.create('button', 'gm-drawer-toggle leaflet-control gm-card');
    toggle.type = 'button';
    toggle.setAttribute('data-drawer-toggle', kind);
    toggle.setAttribute('aria-controls', el.id);
    toggle.innerHTML =
      '<i class="fa-solid ' + (DRAWER_ICONS[kind] || 'fa-bars') + '" aria-hidden="true"></i>' +
      '<span>' + GridMap.escape(label) + '</span>';
    el.parentNode.insertBefore(toggle, el);
    L.DomEvent.disableClickPropagation(toggle);

    var close = L.DomUtil.create('button', 'gm-drawer-close');
    close.type = 'button';
    close.setAttribute('aria-label', (texts.close || '') + ' ' + label);
    close.setAttribute('title', texts.close || '');
    close.innerHTML = '<i class="fa-solid fa-xmark" aria-hidden="true"></i>';
    el.insertBefore(close, el.firstChild);

    function open(show) {
      el.classList.toggle('gm-drawer-closed', !show);
      // The corner holding an open sheet goes above the other corners' controls.
      var host = el.parentNode;
      host.classList.toggle('gm-drawer-host', !!host.querySelector('.gm-drawer:not(.gm-drawer-closed)'));
      toggle.setAttribute('aria-expanded', show ? 'true' : 'false');
      toggle.classList.toggle('gm-drawer-toggle-hidden', show);
      if (show && GridMap.layout() === 'phone') {
        GridMap.closeDrawers(kind);
        GridMap.closeMenu();
      }
    }
    toggle.addEventListener('click', function () {
      open(true);
    });
    close.addEventListener('click', function () {
      open(false);
      toggle.focus();
    });
    function reset() {
      var layout = GridMap.layout();
      open(layout === 'desktop' || (layout === 'tablet' && kind !== 'legend'));
    }
    // A window turned or resized into another layout starts that layout as it would load.
    Object.keys(LAYOUTS).forEach(function (name) {
      window.matchMedia(LAYOUTS[name]).addEventListener('change', reset);
    });
    reset();
    GridMap.drawers[kind] = { el: el, toggle: toggle, open: open };
    return GridMap.drawers[kind];
  };

  /** Close the header's menu, when it is open (topbar.js makes it). */
  GridMap.closeMenu = function () {
    if (GridMap._closeMenu) {
      GridMap._closeMenu();
    }
  };
})();
