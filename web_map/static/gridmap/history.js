/*
 * gridmap: the change history of a feature (修改记录) in its popup, for roles that may read it
 * (the 'history' permission): who changed what, when and through what, each field with its
 * zh-CN label, old -> new; for roles that may restore ('restore': admins) each earlier version
 * has a button that puts it back (POST /api/layers/{layer}/{id}/restore).
 *
 * A popup gets the link from GridMap.historyLink(layer, id); core.js wires the clicks.
 * What the browser test reads: GridMap.state.history ({loads, restores, entries, error}).
 * Every user-facing string comes from the page's configuration (web_map/labels.py).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  if (GridMap.history) {
    return;
  }
  var H = (GridMap.history = {});
  var esc = function (v) {
    return GridMap.escape(v);
  };

  function state() {
    if (!GridMap.state.history) {
      GridMap.state.history = { loads: 0, restores: 0, entries: null, error: null };
    }
    return GridMap.state.history;
  }

  /** The link (and the place the history opens in) of a popup; '' for roles without history. */
  GridMap.historyLink = function (layer, fid) {
    if (fid === undefined || fid === null || fid === '' || !GridMap.may('history')) {
      return '';
    }
    return '<div class="gm-history" data-layer="' + esc(layer) + '" data-fid="' + esc(fid) + '">' +
      '<button type="button" class="gm-history-toggle" data-action="history" aria-expanded="false">' +
      '<i class="fa-solid fa-clock-rotate-left" aria-hidden="true"></i> <span>' + esc(GridMap.ui.history_link) +
      '</span></button><div class="gm-history-body" hidden></div></div>';
  };

  /** A field's zh-CN label: the layer's own (from the page data), else the field's name. */
  H.label = function (layer, field) {
    var labels = (GridMap.config.fieldLabels || {})[layer] || {};
    return labels[field] || field;
  };

  /** Whether a changed column is shown: not the row's own id nor its creation time. */
  function shown(field) {
    return field !== 'id' && field !== 'created_at';
  }

  /** Whether a column holds an internal number (the community, grid or compound a row is in). */
  function reference(field) {
    return /_id$/.test(field);
  }

  function value(v) {
    var u = GridMap.ui;
    if (v === null || v === undefined || v === '') {
      return u.history_empty;
    }
    if (typeof v === 'boolean') {
      return v ? u.history_true : u.history_false;
    }
    return String(v);
  }

  /** A recorded time, as people here read it: local, 24-hour. */
  H.time = function (iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso || '') : d.toLocaleString('zh-CN', { hour12: false });
  };

  H.channel = function (channel) {
    return GridMap.ui['history_channel_' + channel] || channel || GridMap.ui.unknown;
  };

  function change(layer, action, c) {
    var u = GridMap.ui;
    var label = '<span class="gm-history-field">' + esc(H.label(layer, c.field)) + '</span>';
    var geometry = (c.old !== null && typeof c.old === 'object') || (c['new'] !== null && typeof c['new'] === 'object');
    if (geometry || reference(c.field)) {
      // A shape, or an internal number: said changed (or recorded), not written out.
      return '<li>' + label + ' ' + esc(action === 'update' ? u.history_changed : u.history_recorded) + '</li>';
    }
    if (action === 'insert') {
      return '<li>' + label + ' <span class="gm-history-new">' + esc(value(c['new'])) + '</span></li>';
    }
    if (action === 'delete') {
      return '<li>' + label + ' <span class="gm-history-old">' + esc(value(c.old)) + '</span></li>';
    }
    return '<li>' + label + ' <span class="gm-history-old">' + esc(value(c.old)) + '</span>' +
      ' <span class="gm-history-arrow" aria-hidden="true">→</span> ' +
      '<span class="gm-history-new">' + esc(value(c['new'])) + '</span></li>';
  }

  function entry(layer, e, index) {
    var u = GridMap.ui;
    var changes = (e.changes || []).filter(function (c) {
      return shown(c.field);
    });
    var list = changes.length
      ? '<ul class="gm-history-changes">' + changes.map(function (c) {
        return change(layer, e.action, c);
      }).join('') + '</ul>'
      : '<div class="gm-muted">' + esc(u.history_no_fields) + '</div>';
    var action = '';
    if (index === 0) {
      action = '<span class="gm-badge gm-badge-on gm-history-current">' + esc(u.history_current) + '</span>';
    } else if (GridMap.may('restore')) {
      action = '<button type="button" class="gm-history-restore" data-action="restore" data-entry="' + esc(e.entry) +
        '" data-time="' + esc(H.time(e.changed_at)) + '"><i class="fa-solid fa-rotate-left" aria-hidden="true"></i> ' +
        esc(u.history_restore) + '</button>';
    }
    return '<li class="gm-history-entry gm-history-' + esc(e.action) + '" data-entry="' + esc(e.entry) + '">' +
      '<div class="gm-history-head"><b class="gm-history-action">' + esc(u['history_action_' + e.action] || e.action) + '</b>' +
      '<time class="gm-history-time" datetime="' + esc(e.changed_at) + '">' + esc(H.time(e.changed_at)) + '</time></div>' +
      '<div class="gm-history-meta">' + esc(u.history_by) + '：<span class="gm-history-who">' + esc(e.changed_by) + '</span>' +
      ' · ' + esc(u.history_channel) + '：<span class="gm-history-channel">' + esc(H.channel(e.channel)) + '</span></div>' +
      list + (action ? '<div class="gm-history-actions">' + action + '</div>' : '') + '</li>';
  }

  /** The HTML of a feature's history (newest first, as the API answers). */
  H.render = function (layer, entries) {
    if (!entries.length) {
      return '<div class="gm-muted">' + esc(GridMap.ui.history_none) + '</div>';
    }
    return '<ol class="gm-history-list">' + entries.map(function (e, i) {
      return entry(layer, e, i);
    }).join('') + '</ol>';
  };

  /**
   * The open popup holding ``node``, its content made a live element (so what is filled in
   * stays when the popup lays itself out again); null when the node is in no popup of ours.
   */
  function popupOf(node) {
    var popup = GridMap._popup;
    var root = node.closest('.gm-popup');
    if (!popup || !root || !popup.getElement() || !popup.getElement().contains(root)) {
      return null;
    }
    if (popup.getContent() !== root) {
      popup.setContent(root);
    }
    return popup;
  }

  function relayout(node) {
    var popup = popupOf(node);
    if (popup) {
      popup.update();
    }
  }

  function path(box, what) {
    return '/api/layers/' + encodeURIComponent(box.dataset.layer) + '/' + encodeURIComponent(box.dataset.fid) + '/' + what;
  }

  /** Fetch and show the history in ``box`` (a .gm-history element of a popup). */
  H.load = function (box) {
    var s = state();
    var body = box.querySelector('.gm-history-body');
    var toggle = box.querySelector('.gm-history-toggle');
    popupOf(box);
    body.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    toggle.querySelector('span').textContent = GridMap.ui.history_hide;
    body.innerHTML = '<div class="gm-muted">' + esc(GridMap.ui.history_loading) + '</div>';
    relayout(box);
    return GridMap.fetchJSON(path(box, 'history'))
      .then(function (entries) {
        s.loads++;
        s.entries = entries;
        s.error = null;
        body.innerHTML = H.render(box.dataset.layer, entries);
        relayout(box);
        return entries;
      })
      .catch(function (err) {
        var text = GridMap.text('history_failed', { error: GridMap.errorText(err) });
        s.error = text;
        body.innerHTML = '<div class="gm-history-error" role="alert">' + esc(text) + '</div>';
        relayout(box);
        throw err;
      });
  };

  function hide(box) {
    var toggle = box.querySelector('.gm-history-toggle');
    box.querySelector('.gm-history-body').hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    toggle.querySelector('span').textContent = GridMap.ui.history_link;
    relayout(box);
  }

  /**
   * Put the feature back as it was after history entry ``entryId`` (admins), then say so,
   * show the feature's popup anew (its values and history) and redraw the buildings.
   */
  H.restore = function (box, entryId, time) {
    var s = state();
    var layer = box.dataset.layer;
    var fid = box.dataset.fid;
    var popup = popupOf(box);
    box.querySelectorAll('.gm-history-restore').forEach(function (b) {
      b.disabled = true;
    });
    return GridMap.postJSON(path(box, 'restore'), { entry: Number(entryId) })
      .then(function (feature) {
        s.restores++;
        GridMap.notify(GridMap.text('history_restored', { time: time }), 'ok');
        if (GridMap.layers.buildings && GridMap.layers.buildings.redraw && layer === 'buildings') {
          GridMap.layers.buildings.redraw();
        }
        var make = GridMap.popups[layer];
        if (popup && make && feature && feature.properties) {
          popup.setContent(make(feature.properties, fid));
          var fresh = popup.getElement().querySelector('.gm-history');
          if (fresh) {
            return H.load(fresh).then(function () {
              return feature;
            });
          }
        } else {
          return H.load(box).then(function () {
            return feature;
          });
        }
        return feature;
      })
      .catch(function (err) {
        var text = GridMap.text('history_restore_failed', { error: GridMap.errorText(err) });
        s.error = text;
        GridMap.notify(text);
        box.querySelectorAll('.gm-history-restore').forEach(function (b) {
          b.disabled = false;
        });
        throw err;
      });
  };

  /** The popups' clicks: open or close the history, restore a version. */
  H.onClick = function (e) {
    var target = e.target.closest && e.target.closest('[data-action]');
    var box = target && target.closest('.gm-history');
    if (!box) {
      return;
    }
    if (target.dataset.action === 'history') {
      if (box.querySelector('.gm-history-body').hidden) {
        H.load(box).catch(function () {});
      } else {
        hide(box);
      }
    } else if (target.dataset.action === 'restore') {
      H.restore(box, target.dataset.entry, target.dataset.time).catch(function () {});
    }
  };
})();
