/* gridmap: the "loading" badge, shown while any API call or tile load is under way. */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  GridMap.loadingIndicator = function (elementId) {
    var el = document.getElementById(elementId);
    GridMap.map.getContainer().appendChild(el);
    function update(pending) {
      if (pending > 0 && el.hidden) {
        GridMap.state.loadingShown++;
      }
      el.hidden = pending === 0;
      el.setAttribute('aria-busy', pending > 0 ? 'true' : 'false');
    }
    GridMap.map.on('gridmap:busy', function (e) {
      update(e.pending);
    });
    // Loads may have started before this control did.
    update(GridMap.pending());
  };
})();
