/*
 * gridmap: the header: switch community (reloads the page), remember the basemap in the URL
 * and in the links to the other pages; the logged-in user's area and its logout button.
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});

  /** Log out (POST /api/auth/logout, which ends the session), then go to the login page. */
  GridMap.logout = function () {
    var done = function () {
      window.location.assign(GridMap.loginURL());
    };
    return GridMap.postJSON('/api/auth/logout')
      .then(done)
      .catch(function (err) {
        if (err && err.status === 401) {
          done(); // already logged out
          return;
        }
        GridMap.notify(GridMap.text('logout_failed', { error: GridMap.errorText(err) }));
        throw err;
      });
  };

  /** Wire the user area of a header (``el``): its logout button. Pages with or without a map. */
  GridMap.userArea = function (el) {
    var button = el.querySelector('[data-action="logout"]');
    if (!button) {
      return;
    }
    button.addEventListener('click', function () {
      button.disabled = true;
      GridMap.logout().catch(function () {
        button.disabled = false;
      });
    });
  };

  /**
   * The header's menu on small screens (gridmap.css, "small screens"): its button opens and
   * closes the links, the selector and the user; a click elsewhere or Escape closes it. On a
   * tablet the community selector stays in the bar, out of the menu; on a phone it is in it.
   */
  GridMap.topBarMenu = function (el) {
    var button = el.querySelector('.gm-menu-toggle');
    var menu = el.querySelector('.gm-topbar-menu');
    if (!button || !menu) {
      return;
    }
    var text = button.querySelector('.gm-menu-toggle-text');
    var select = menu.querySelector('.gm-community-select');
    var anchor = select ? select.nextSibling : null;

    function setOpen(open) {
      el.classList.toggle('gm-menu-open', open);
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      text.textContent = button.getAttribute(open ? 'data-close' : 'data-open');
    }
    GridMap._closeMenu = function () {
      setOpen(false);
    };
    button.addEventListener('click', function () {
      var open = !el.classList.contains('gm-menu-open');
      setOpen(open);
      if (open && GridMap.layout && GridMap.layout() === 'phone' && GridMap.closeDrawers) {
        GridMap.closeDrawers();
      }
    });
    document.addEventListener('click', function (e) {
      if (!el.contains(e.target)) {
        setOpen(false);
      }
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && el.classList.contains('gm-menu-open')) {
        setOpen(false);
        button.focus();
      }
    });

    function place() {
      if (!select) {
        return;
      }
      var tablet = GridMap.layout && GridMap.layout() === 'tablet';
      if (tablet && select.parentNode === menu) {
        el.insertBefore(select, menu);
      } else if (!tablet && select.parentNode !== menu) {
        menu.insertBefore(select, anchor);
      }
    }
    if (GridMap.LAYOUTS) {
      Object.keys(GridMap.LAYOUTS).forEach(function (name) {
        window.matchMedia(GridMap.LAYOUTS[name]).addEventListener('change', function () {
          place();
          setOpen(false);
        });
      });
    }
    place();
    setOpen(false);
  };

  GridMap.topBar = function (elementId) {
    var el = document.getElementById(elementId);
    GridMap.userArea(el);
    GridMap.topBarMenu(el);
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
      el.querySelectorAll('.gm-nav-link:not(.gm-nav-admin)').forEach(function (a) {
        var link = new URL(a.getAttribute('href'), window.location.href);
        link.searchParams.set('basemap', e.layer.gmKind);
        a.setAttribute('href', link.pathname + link.search);
      });
    });
  };
})();
