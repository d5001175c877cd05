/*
 * gridmap: search compounds and buildings by name (/api/search). Picking a result flies to it,
 * outlines it and opens its popup; a building's attributes come from /api/layers/buildings
 * within the result's box, since vector tiles hold only what is drawn.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  function moved(map) {
    return new Promise(function (resolve) {
      var done = false;
      function finish() {
        if (!done) {
          done = true;
          resolve();
        }
      }
      map.once('moveend', finish);
      setTimeout(finish, 2500);
    });
  }

  function findLoaded(layerName, id) {
    var group = GridMap.layers[layerName];
    var found = null;
    if (group && group.eachLayer) {
      group.eachLayer(function (l) {
        if (l.feature && l.feature.id === id) {
          found = l.feature;
        }
      });
    }
    return found;
  }

  function fetchFeature(result) {
    var loaded = findLoaded(result.layer, result.id);
    if (loaded) {
      return Promise.resolve(loaded);
    }
    var b = result.bbox;
    var pad = 0.0002;
    return GridMap.fetchJSON('/api/layers/' + result.layer, {
      community: GridMap.config.community,
      bbox: [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad].map(function (v) { return v.toFixed(6); }).join(','),
      limit: 200,
    }).then(function (collection) {
      var match = collection.features.filter(function (f) { return f.id === result.id; });
      return match.length ? match[0] : null;
    });
  }

  /** Fly to a search result, outline it and open its popup. */
  GridMap.showResult = function (result) {
    var map = GridMap.map;
    var b = result.bbox;
    var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    var arrived = moved(map);
    map.flyToBounds(bounds, { maxZoom: result.layer === 'buildings' ? 18 : 17, padding: [60, 60], duration: 0.8 });
    return Promise.all([fetchFeature(result), arrived]).then(function (values) {
      var feature = values[0];
      var latlng = L.latLng(result.lat, result.lon);
      var props = feature ? feature.properties : { name: result.name, code: result.code };
      if (result.layer === 'buildings') {
        var popup = GridMap.showPopup(latlng, GridMap.popups.buildings(props, result.id), null);
        GridMap.highlightBuilding(result.id, popup);
      } else {
        GridMap.showPopup(latlng, GridMap.popups.compounds(props), feature);
      }
      GridMap.state.lastResult = { layer: result.layer, id: result.id, found: !!feature };
      return result;
    });
  };

  GridMap.searchBox = function (elementId, position) {
    var control = GridMap.control(elementId, position, function (el) {
      var ui = GridMap.ui;
      var form = el.querySelector('form');
      var input = el.querySelector('input');
      var list = el.querySelector('.gm-search-results');

      // While its results are shown, the search's corner lies above the others' controls
      // (the legend below it may be tall).
      function raise(on) {
        if (el.parentNode) {
          el.parentNode.classList.toggle('gm-search-open', on);
        }
      }

      function close() {
        list.hidden = true;
        list.innerHTML = '';
        raise(false);
      }

      function pick(result) {
        close();
        input.value = result.name || result.code;
        GridMap.showResult(result);
      }

      function show(results, q) {
        list.innerHTML = '';
        if (!results.length) {
          var li = document.createElement('li');
          li.className = 'gm-search-empty';
          li.textContent = GridMap.text('search_none', { q: q });
          list.appendChild(li);
        }
        results.forEach(function (r) {
          var item = document.createElement('li');
          var button = document.createElement('button');
          button.type = 'button';
          button.className = 'gm-search-result';
          var tag = document.createElement('span');
          tag.className = 'gm-search-tag gm-search-tag-' + r.layer;
          tag.textContent = ui['search_layer_' + r.layer] || r.layer;
          var name = document.createElement('span');
          name.className = 'gm-search-name';
          name.textContent = r.name || r.code;
          var code = document.createElement('span');
          code.className = 'gm-search-code';
          code.textContent = r.code;
          button.appendChild(tag);
          button.appendChild(name);
          button.appendChild(code);
          button.addEventListener('click', function () {
            pick(r);
          });
          item.appendChild(button);
          list.appendChild(item);
        });
        list.hidden = false;
        raise(true);
      }

      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var q = input.value.trim();
        if (!q) {
          close();
          return;
        }
        GridMap.fetchJSON('/api/search', { q: q, community: GridMap.config.community })
          .then(function (results) {
            GridMap.state.searches++;
            if (results.length === 1) {
              pick(results[0]);
            } else {
              show(results.slice(0, 12), q);
            }
          })
          .catch(function (err) {
            console.warn('gridmap: search', err);
            GridMap.notify(ui.search_failed);
          });
      });
      input.addEventListener('keydown', function (e) {
        if (e.key === 'Escape') {
          close();
        }
      });
    });
    return control.addTo(GridMap.map);
  };
})();
