/*
 * gridmap: basemaps, and the GCJ-02 shift that puts Amap (Gaode) tiles under WGS84 data.
 *
 * Our data is WGS84 (CGCS2000 at map scale). Amap's imagery is drawn in GCJ-02: a feature at
 * WGS84 position P appears in an Amap tile at gcj02(P), a few hundred metres away. So an Amap
 * tile is displayed shifted back by the GCJ-02 offset at that tile's centre, and the tiles
 * fetched for a view are those covering the view's GCJ-02 position. The offset changes by well
 * under a pixel across one tile, so tiles still meet edge to edge.
 *
 * wgs84ToGcj02 is the published GCJ-02 algorithm (Krasovsky 1940 ellipsoid, a = 6378245 m,
 * e² = 0.00669342162296594323):
 *   x = lon - 105, y = lat - 35
 *   dLat = -100 + 2x + 3y + 0.2y² + 0.1xy + 0.2√|x|
 *          + (20 sin 6πx + 20 sin 2πx)·2/3 + (20 sin πy + 40 sin(πy/3))·2/3
 *          + (160 sin(πy/12) + 320 sin(πy/30))·2/3
 *   dLon = 300 + x + 2y + 0.1x² + 0.1xy + 0.1√|x|
 *          + (20 sin 6πx + 20 sin 2πx)·2/3 + (20 sin πx + 40 sin(πx/3))·2/3
 *          + (150 sin(πx/12) + 300 sin(πx/30))·2/3
 *   m = 1 - e² sin²(lat)
 *   lat' = lat + dLat·180 / (π a (1 - e²) / m^1.5)
 *   lon' = lon + dLon·180 / (π a cos(lat) / √m)
 * Points outside China (lon 72.004–137.8347, lat 0.8293–55.8271) are unchanged. gcj02ToWgs84
 * inverts it by fixed-point iteration to 1e-9°. layers/crs.py is the same algorithm in Python;
 * the browser test checks that both agree.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var A = 6378245.0;
  // The textbook 0.00669342162296594323, written as the double it is (and layers/crs.py gets).
  var EE = 0.006693421622965943;
  var PI = Math.PI;

  function outOfChina(lon, lat) {
    return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }

  function deltaLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
    r += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
    r += ((160.0 * Math.sin((y / 12.0) * PI) + 320.0 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
    return r;
  }

  function deltaLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
    r += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
    r += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
    return r;
  }

  /** WGS84 [lon, lat] to GCJ-02 [lon, lat]. */
  function wgs84ToGcj02(lon, lat) {
    if (outOfChina(lon, lat)) {
      return [lon, lat];
    }
    var dLat = deltaLat(lon - 105.0, lat - 35.0);
    var dLon = deltaLon(lon - 105.0, lat - 35.0);
    var radLat = (lat / 180.0) * PI;
    var magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * PI);
    dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * PI);
    return [lon + dLon, lat + dLat];
  }

  /** GCJ-02 [lon, lat] to WGS84 [lon, lat], by iterating the forward transform. */
  function gcj02ToWgs84(lon, lat) {
    var x = lon;
    var y = lat;
    for (var i = 0; i < 30; i++) {
      var f = wgs84ToGcj02(x, y);
      var dx = f[0] - lon;
      var dy = f[1] - lat;
      x -= dx;
      y -= dy;
      if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) {
        break;
      }
    }
    return [x, y];
  }

  GridMap.gcj02 = { fromWgs84: wgs84ToGcj02, toWgs84: gcj02ToWgs84, outOfChina: outOfChina };

  /** A tile layer whose imagery is in GCJ-02, displayed aligned with WGS84 data. */
  var GcjTileLayer = L.TileLayer.extend({
    // Which tiles to fetch: those around the GCJ-02 position of the view's centre, with a few
    // pixels to spare, since tiles at the view's edge move by a slightly different offset.
    _getTiledPixelBounds: function (center) {
      var g = wgs84ToGcj02(center.lng, center.lat);
      var b = L.TileLayer.prototype._getTiledPixelBounds.call(this, L.latLng(g[1], g[0]));
      return L.bounds(b.min.subtract([8, 8]), b.max.add([8, 8]));
    },

    // Where to draw a tile: back by the GCJ-02 offset at the tile's centre (in pixels at z).
    _getTilePos: function (coords) {
      var pos = L.TileLayer.prototype._getTilePos.call(this, coords);
      var map = this._map;
      var size = this.getTileSize();
      var centrePx = coords.scaleBy(size).add(size.divideBy(2));
      var gcj = map.unproject(centrePx, coords.z);
      var w = gcj02ToWgs84(gcj.lng, gcj.lat);
      var offset = centrePx.subtract(map.project(L.latLng(w[1], w[0]), coords.z));
      return pos.subtract(offset);
    },
  });

  GridMap.GcjTileLayer = GcjTileLayer;

  /**
   * Build a basemap layer: "osm" and "tianditu" are plain (WGS84-compatible) tile layers,
   * "amap" is shifted from GCJ-02, "none" draws nothing and fetches nothing.
   */
  GridMap.basemap = function (kind, spec) {
    var options = L.extend({}, spec.options || {});
    var layer;
    if (kind === 'none') {
      layer = L.layerGroup([]);
    } else if (kind === 'amap') {
      layer = new GcjTileLayer(spec.urls[0], options);
    } else if (spec.urls.length === 1) {
      layer = L.tileLayer(spec.urls[0], options);
    } else {
      // Tianditu: the map and its annotation (place names) are two layers drawn as one.
      layer = L.layerGroup(
        spec.urls.map(function (url, i) {
          return L.tileLayer(url, i === 0 ? options : L.extend({}, options, { attribution: '' }));
        })
      );
    }
    layer.gmKind = kind;
    return layer;
  };
})();
