/*
 * gridmap: the data layers. Boundaries, compounds, gates and service points are GeoJSON from
 * /api/layers/{layer}, fetched when the layer is first shown. Buildings are vector tiles
 * (Leaflet.VectorGrid on /tiles/buildings/{z}/{x}/{y}.pbf): a city has 50,000 of them, which a
 * page cannot hold as GeoJSON, and tiles restyle on the canvas without being fetched again.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  // Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed. A click on
  // a building must open that building only: Leaflet 1.9 stops handing a DOM event on to the
  // next target (here the map, whose click opens the area popup) once it is marked _stopped.
  if (!L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) {
      e._stopped = true;
      L.DomEvent.stopPropagation(e);
    };
  }

  // --- GeoJSON layers -----------------------------------------------------------------------

  var AREA_STYLES = {
    communities: { pane: 'gm-outline', color: '#c62828', weight: 3, opacity: 0.95, fill: false },
    grids: { pane: 'gm-boundaries', color: '#1e63b8', weight: 1.8, opacity: 0.9, dashArray: '6 5', fill: false },
    compounds: { pane: 'gm-areas', color: '#8d6e63', weight: 1.2, opacity: 0.9, fillColor: '#efe4d2', fillOpacity: 0.45 },
  };

  function poiIcon(color, icon, extra) {
    return L.divIcon({
      className: 'gm-poi ' + (extra || ''),
      html: '<span class="gm-poi-pin" style="background:' + color + '"><i class="fa-solid ' + icon + '"></i></span>',
      iconSize: [30, 30],
      iconAnchor: [15, 15],
      popupAnchor: [0, -14],
      tooltipAnchor: [15, 0],
    });
  }

  function gateIcon(open) {
    return L.divIcon({
      className: 'gm-gate ' + (open ? 'gm-gate-open' : 'gm-gate-closed'),
      html: '<i class="fa-solid ' + (open ? 'fa-door-open' : 'fa-door-closed') + '"></i>',
      iconSize: [18, 18],
      iconAnchor: [9, 9],
      popupAnchor: [0, -8],
    });
  }

  // The same symbols on every page.
  GridMap.icons = { poi: poiIcon, gate: gateIcon };

  function pointMarker(name, feature, latlng) {
    var p = feature.properties;
    var cfg = GridMap.config;
    if (name === 'service_points') {
      var kind = cfg.serviceKinds[p.kind] || cfg.serviceKinds.other;
      var open = p.is_open !== false;
      return L.marker(latlng, {
        icon: poiIcon(kind.color, kind.icon, 'gm-poi-' + p.kind + (open ? '' : ' gm-poi-closed')),
        zIndexOffset: p.kind === 'centre' ? 300 : 200,
        riseOnHover: true,
      });
    }
    if (name === 'gates') {
      return L.marker(latlng, { icon: gateIcon(p.is_open !== false), zIndexOffset: 0 });
    }
    return L.marker(latlng, { icon: poiIcon(cfg.venueColor, 'fa-house-circle-check', 'gm-poi-venue'), zIndexOffset: 100 });
  }

  function label(name, feature, layer) {
    var p = feature.properties;
    if (name === 'grids' || name === 'compounds') {
      // "樵华社区第3网格" reads "第3网格" inside 樵华社区's own map.
      var text = p.name || p.code;
      var prefix = GridMap.config.communityName;
      if (name === 'grids' && prefix && text.indexOf(prefix) === 0 && text.length > prefix.length) {
        text = text.slice(prefix.length);
      }
      layer.bindTooltip(GridMap.escape(text), {
        permanent: true,
        direction: 'center',
        className: 'gm-label gm-label-' + name,
        interactive: false,
        pane: 'gm-labels',
      });
    } else if (name === 'service_points' || name === 'candidate_venues') {
      layer.bindTooltip(GridMap.escape(p.name || p.code), { direction: 'right', className: 'gm-hover-label' });
    }
  }

  /**
   * The community's ground: a light fill under everything when there is no basemap, so the
   * community stands out from its surroundings; none over a basemap, which it would hide.
   */
  function ground(collection) {
    var fill = L.geoJSON(collection, {
      pane: 'gm-ground',
      interactive: false,
      style: function () {
        return { stroke: false, fillColor: '#ffffff', fillOpacity: GridMap.state.basemap === 'none' ? 0.8 : 0 };
      },
    });
    GridMap.map.on('baselayerchange', function () {
      fill.setStyle({ fillOpacity: GridMap.state.basemap === 'none' ? 0.8 : 0 });
    });
    return fill;
  }

  /**
   * A GeoJSON layer of one API layer of the community, fetched the first time it is shown.
   * Areas are not clickable themselves (buildings lie above them): a click on the map finds
   * the area under it (GridMap.openAreaPopup). Points open their own popups.
   */
  GridMap.apiLayer = function (name, params) {
    var isPoint = name === 'service_points' || name === 'gates' || name === 'candidate_venues';
    var layer = L.geoJSON(null, {
      style: AREA_STYLES[name] ? function () { return L.extend({ interactive: false }, AREA_STYLES[name]); } : undefined,
      pointToLayer: function (feature, latlng) {
        return pointMarker(name, feature, latlng);
      },
      onEachFeature: function (feature, featureLayer) {
        label(name, feature, featureLayer);
        if (isPoint) {
          featureLayer.on('click', function () {
            GridMap.showPopup(featureLayer.getLatLng(), GridMap.popups[name](feature.properties), null);
          });
        }
      },
    });
    var requested = false;
    layer.on('add', function () {
      if (requested) {
        return;
      }
      requested = true;
      GridMap.fetchJSON('/api/layers/' + name, params)
        .then(function (collection) {
          layer.addData(collection);
          if (name === 'communities') {
            layer.addLayer(ground(collection));
          }
          GridMap.state.layersLoaded[name] = collection.features.length;
          GridMap.map.fire('gridmap:layerloaded', { layer: name });
        })
        .catch(function (err) {
          requested = false;
          console.warn('gridmap:', name, err);
          GridMap.notify(GridMap.text('load_failed', { what: GridMap.config.layerNames[name] || name }));
        });
    });
    GridMap.layers[name] = layer;
    return layer;
  };

  // --- buildings as vector tiles ------------------------------------------------------------

  var HIGHLIGHT = { fill: true, fillColor: '#ffd54f', fillOpacity: 0.95, color: '#e65100', weight: 3, opacity: 1 };

  /**
   * Leaflet.VectorGrid 1.3.0's canvas tiles take every click (Leaflet 1.8+ marks a canvas
   * renderer's own DOM events as its to hand on) but hand on only those that hit a building:
   * a click between buildings never reached the map, whose click opens the area there (or
   * places a new event). Hand those on too, as Leaflet's own canvas renderer does.
   */
  function handOnClicksBetweenBuildings() {
    var Tile = L.Canvas && L.Canvas.Tile;
    if (!Tile || Tile.prototype._gmHandsOn) {
      return;
    }
    var onClick = Tile.prototype._onClick;
    Tile.prototype._onClick = function (e) {
      onClick.call(this, e);
      if (!e._stopped && e.type === 'click' && this._map) {
        this._fireEvent(false, e);
      }
    };
    Tile.prototype._gmHandsOn = true;
  }

  /** The buildings' vector tile layer, shaded by the scheme in force. */
  GridMap.buildingTiles = function (url, options) {
    handOnClicksBetweenBuildings();
    var layer = L.vectorGrid.protobuf(
      url,
      L.extend(
        {
          rendererFactory: L.canvas.tile,
          interactive: true,
          pane: 'gm-buildings',
          minZoom: 12,
          maxZoom: 22,
          // The tile's feature id is the building's database id; keep it on the properties
          // too, so a clicked building (which carries only properties) can be highlighted.
          getFeatureId: function (f) {
            var id = f.id !== undefined && f.id !== null ? f.id : f.properties.id;
            f.properties._gmId = id;
            return id;
          },
          vectorTileLayerStyles: {
            buildings: function (props, z) {
              GridMap.state.buildingFeaturesDrawn++;
              return GridMap.buildingStyle(props, z);
            },
          },
        },
        options || {}
      )
    );

    /** Restyle every building already drawn under the current scheme, fetching nothing. */
    layer.restyle = function () {
      var overridden = this._overriddenStyles || {};
      for (var key in this._vectorTiles) {
        var renderer = this._vectorTiles[key];
        var z = renderer.getCoord().z;
        var features = renderer._features || {};
        for (var id in features) {
          if (overridden[id]) {
            continue;
          }
          var symbolizer = features[id].feature;
          symbolizer.updateStyle(renderer, L.extend({}, L.Path.prototype.options, GridMap.buildingStyle(symbolizer.properties, z)));
        }
      }
    };

    layer.highlight = function (id) {
      this.setFeatureStyle(id, HIGHLIGHT);
    };

    var loading = false;
    layer.on('loading', function () {
      if (!loading) {
        loading = true;
        GridMap.busy(1);
      }
    });
    layer.on('load remove', function () {
      if (loading) {
        loading = false;
        GridMap.busy(-1);
      }
    });
    layer.on('tileload', function () {
      GridMap.state.buildingTilesLoaded++;
    });
    layer.on('click', function (e) {
      var props = e.layer.properties || {};
      if (GridMap.hooked(e.latlng, props)) {
        return;
      }
      var popup = GridMap.showPopup(e.latlng, GridMap.popups.buildings(props), null);
      GridMap.highlightBuilding(props._gmId, popup);
    });

    GridMap.layers.buildings = layer;
    return layer;
  };

  /** Highlight building ``id`` in the tiles while ``owner`` (a popup) stays open. */
  GridMap.highlightBuilding = function (id, owner) {
    var layer = GridMap.layers.buildings;
    if (id === undefined || id === null || !layer) {
      return;
    }
    GridMap.clearHighlight();
    layer.highlight(id);
    GridMap._highlightBuilding = id;
    GridMap._highlightOwner = owner || null;
  };
})();
