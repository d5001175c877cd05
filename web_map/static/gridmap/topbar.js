/* gridmap: the header: switch community (reloads the page), remember the basemap in the URL. */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  GridMap.topBar = function (elementId) {
    var el = document.getElementById(elementId);
    var select = el.querySelector('select');
    select.addEventListener('change', function () {
      var url = new URL(select.getAttribute('data-page-url'), window.location.href);
      url.searchParams.set('community', select.value);
      url.searchParams.set('basemap', GridMap.state.basemap);
      window.location.assign(url.toString());
    });
    GridMap.map.on('baselayerchange', function (e) {
      if (!e.layer || !e.layer.gmKind) {
        return;
      }
      var url = new URL(window.location.href);
      url.searchParams.set('basemap', e.layer.gmKind);
      window.history.replaceState(null, '', url.toString());
    });
  };
})();
