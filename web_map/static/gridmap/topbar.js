/*
 * gridmap: the header: switch community (reloads the page), remember the basemap in the URL
 * and in the links to the other pages.
 */
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
      el.querySelectorAll('.gm-nav-link').forEach(function (a) {
        var link = new URL(a.getAttribute('href'), window.location.href);
        link.searchParams.set('basemap', e.layer.gmKind);
        a.setAttribute('href', link.pathname + link.search);
      });
    });
  };
})();
