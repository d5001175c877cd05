/*
 * gridmap: what the analysis pages (the service circle, the venues, the lead zones) draw alike:
 * their overlays and panes, the hatch of uncovered buildings, shapes drawn from an answer,
 * markers' hover labels, building popups, compound names and how a failed computation is told.
 *
 * Loaded after core.js and before the page's own script (circle.js, venues.js, lead_zones.js).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  // --- overlays and panes -------------------------------------------------------------------

  /**
   * The overlays of one page, by part: the function returned makes a part's feature group the
   * first time it is asked for (as GridMap.layers[prefix + part]) and returns the same after.
   */
  GridMap.overlayGroups = function (prefix) {
    var groups = {};
    return function (part) {
      if (!groups[part]) {
        groups[part] = L.featureGroup();
        GridMap.layers[prefix + part] = groups[part];
      }
      return groups[part];
    };
  };

  /** Make panes that clicks pass through: [[name, zIndex, opacity], ...]. */
  GridMap.overlayPanes = function (specs) {
    specs.forEach(function (p) {
      var pane = GridMap.map.createPane(p[0]);
      pane.style.zIndex = p[1];
      pane.style.opacity = p[2];
      pane.style.pointerEvents = 'none';
    });
  };

  /**
   * Add the SVG pattern ``id`` that uncovered buildings are filled with: red diagonal lines
   * ``strokeWidth`` wide over white of ``whiteOpacity``.
   */
  GridMap.hatchPattern = function (id, whiteOpacity, strokeWidth) {
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('width', '0');
    svg.setAttribute('height', '0');
    svg.setAttribute('aria-hidden', 'true');
    svg.style.position = 'absolute';
    svg.innerHTML =
      '<defs><pattern id="' + id + '" patternUnits="userSpaceOnUse" width="5" height="5" ' +
      'patternTransform="rotate(45)"><rect width="5" height="5" fill="#ffffff" fill-opacity="' + whiteOpacity + '"></rect>' +
      '<line x1="0" y1="0" x2="0" y2="5" stroke="#c62828" stroke-width="' + strokeWidth + '"></line></pattern></defs>';
    document.body.appendChild(svg);
  };

  // --- drawing ------------------------------------------------------------------------------

  /** Draw GeoJSON ``features`` into ``group`` (not clickable unless ``options`` say so). */
  GridMap.drawShapes = function (group, features, options) {
    return L.geoJSON({ type: 'FeatureCollection', features: features }, L.extend({ interactive: false }, options)).addTo(group);
  };

  /**
   * Hatch the uncovered buildings of ``features`` on ``options.pane`` with the pattern
   * ``options.hatch``, outlined red (``options.weight``, ``options.opacity``); return them.
   */
  GridMap.drawUncovered = function (group, features, options) {
    var uncovered = features.filter(function (f) {
      return !f.properties.covered;
    });
    var style = {
      fillColor: 'url(#' + options.hatch + ')',
      fillOpacity: 1,
      color: '#c62828',
      weight: options.weight,
      opacity: options.opacity,
    };
    GridMap.drawShapes(group, uncovered, {
      pane: options.pane,
      style: function () {
        return style;
      },
    });
    return uncovered;
  };

  /** The position of a GeoJSON point feature. */
  GridMap.pointLatLng = function (feature) {
    return L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
  };

  /** Show ``text`` (escaped) beside a marker on hover: to its right unless ``options`` say. */
  GridMap.hoverLabel = function (marker, text, options) {
    return marker.bindTooltip(GridMap.escape(text), L.extend({ direction: 'right', className: 'gm-hover-label' }, options));
  };

  // --- popups and names ---------------------------------------------------------------------

  /** A coloured tag of a popup: ``kind`` is in, out, gained or lost. */
  GridMap.tag = function (kind, text) {
    return '<span class="gm-sc-tag gm-sc-tag-' + kind + '">' + GridMap.escape(text) + '</span>';
  };

  /** A building's popup: its name within its compound, households and residents, then ``pairs``. */
  GridMap.buildingCard = function (p, compound, pairs) {
    var u = GridMap.ui;
    var rows = [
      [u.compound_name, compound || u.unknown],
      [u.households, GridMap.withUnit(p.households, u.unit_households)],
      [u.residents, GridMap.withUnit(p.residents, u.unit_people)],
    ];
    return GridMap.card(u.building, (compound ? compound + ' ' : '') + (p.name || p.building_id), rows.concat(pairs), 'gm-sc-popup');
  };

  /** The compounds' names by code, from the compounds layer; null while it has not loaded. */
  GridMap.compoundNames = function () {
    var layer = GridMap.layers.compounds;
    var names = {};
    var found = false;
    if (layer && layer.eachLayer) {
      layer.eachLayer(function (l) {
        if (l.feature && l.feature.properties) {
          names[l.feature.properties.code] = l.feature.properties.name;
          found = true;
        }
      });
    }
    return found ? names : null;
  };

  /** Call ``fn`` each time the compounds layer has loaded (its names are known anew). */
  GridMap.onCompoundsLoaded = function (fn) {
    GridMap.map.on('gridmap:layerloaded', function (e) {
      if (e.layer === 'compounds') {
        fn();
      }
    });
  };

  // --- failures -----------------------------------------------------------------------------

  /**
   * Tell that a computation failed: ``text`` on the page's state ``s`` (its ``error``, and one
   * more ``failed``) for the panel and the browser test, and as a toast; ``err`` on the console.
   */
  GridMap.reportFailure = function (s, text, what, err) {
    s.failed++;
    s.error = text;
    console.warn('gridmap: ' + what, err);
    GridMap.notify(text);
  };
})();
