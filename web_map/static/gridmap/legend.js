/* gridmap: the legend; shows the building classes of the shading in force, collapsible. */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  GridMap.legend = function (elementId, position) {
    var control = GridMap.control(elementId, position, function (el, map) {
      function show(scheme) {
        el.querySelectorAll('.gm-legend-shading').forEach(function (section) {
          section.hidden = section.getAttribute('data-scheme') !== scheme;
        });
      }
      var head = el.querySelector('.gm-legend-head');
      head.addEventListener('click', function () {
        var collapsed = el.classList.toggle('gm-collapsed');
        head.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
      });
      map.on('gridmap:shading', function (e) {
        show(e.scheme);
      });
      show(GridMap.state.shading);
    });
    return control.addTo(GridMap.map);
  };
})();
