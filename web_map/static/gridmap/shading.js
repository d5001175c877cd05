/* gridmap: the building shading switch (households / occupancy); restyles without a reload. */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  GridMap.shadingSwitch = function (elementId, position) {
    var control = GridMap.control(elementId, position, function (el, map) {
      var buttons = el.querySelectorAll('[data-scheme]');
      function mark(scheme) {
        buttons.forEach(function (b) {
          var on = b.getAttribute('data-scheme') === scheme;
          b.classList.toggle('active', on);
          b.setAttribute('aria-pressed', on ? 'true' : 'false');
        });
      }
      buttons.forEach(function (b) {
        b.addEventListener('click', function () {
          GridMap.setShading(b.getAttribute('data-scheme'));
        });
      });
      map.on('gridmap:shading', function (e) {
        mark(e.scheme);
      });
      mark(GridMap.state.shading);
    });
    return control.addTo(GridMap.map);
  };
})();
