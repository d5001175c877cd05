/*
 * gridmap: the admin's user management page (/admin/users): the users of GET /api/users in a
 * table; a form that adds one (POST /api/users); per user a change of role, communities,
 * grids or password (PATCH /api/users/{username}), disabling and enabling. Failures show the
 * API's own zh-CN message (GridMap.errorText).
 *
 * What the browser test reads: GridMap.state.admin ({loads, users, saves, error}).
 * Every user-facing string comes from the page's configuration (web_map/labels.py).
 */
(function () {
  'use strict';

  var GridMap = (window.GridMap = window.GridMap || {});
  var esc = function (v) {
    return GridMap.escape(v);
  };
  var users = [];

  function ui() {
    return GridMap.ui;
  }

  function state() {
    if (!GridMap.state.admin) {
      GridMap.state.admin = { loads: 0, saves: 0, users: null, error: null };
    }
    return GridMap.state.admin;
  }

  function me() {
    return GridMap.config.user ? GridMap.config.user.username : null;
  }

  function roleLabel(code) {
    var found = (GridMap.config.roles || []).filter(function (r) {
      return r.code === code;
    })[0];
    return found ? found.label : code;
  }

  /** Codes typed into one box: split on commas (either width), 、, semicolons or spaces. */
  function codes(text) {
    return String(text || '')
      .split(/[\s,;\u3001\uff0c\uff1b]+/)
      .filter(function (c) {
        return c;
      });
  }

  function codesText(list, none) {
    return list && list.length ? list.join(', ') : none;
  }

  function send(method, path, body) {
    return GridMap.fetchJSON(path, {}, {
      method: method,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  function showError(box, err) {
    box.hidden = !err;
    box.textContent = err ? GridMap.text('failed', { error: GridMap.errorText(err) }) : '';
  }

  function roleOptions(selected) {
    return (GridMap.config.roles || []).map(function (r) {
      return '<option value="' + esc(r.code) + '"' + (r.code === selected ? ' selected' : '') + '>' + esc(r.label) + '</option>';
    }).join('');
  }

  function row(u) {
    var t = ui();
    var self = u.username === me();
    var every = u.role === 'admin';
    var status = u.disabled
      ? '<span class="gm-badge gm-badge-off">' + esc(t.disabled) + '</span>'
      : '<span class="gm-badge gm-badge-on">' + esc(t.active) + '</span>';
    var toggle = self
      ? ''
      : '<button type="button" class="gm-button gm-button-small" data-action="' + (u.disabled ? 'enable' : 'disable') + '">' +
        '<i class="fa-solid ' + (u.disabled ? 'fa-user-check' : 'fa-user-slash') + '" aria-hidden="true"></i> ' +
        esc(u.disabled ? t.enable : t.disable) + '</button>';
    return '<tr data-username="' + esc(u.username) + '"' + (u.disabled ? ' class="gm-admin-disabled"' : '') + '>' +
      '<td class="gm-admin-username"><code>' + esc(u.username) + '</code>' + (self ? ' <span class="gm-muted">' + esc(t.you) + '</span>' : '') + '</td>' +
      '<td>' + esc(u.display_name || t.none) + '</td>' +
      '<td data-field="role">' + esc(u.role_zh || roleLabel(u.role)) + '</td>' +
      '<td data-field="communities">' + esc(every ? t.all_communities : codesText(u.communities, t.none)) + '</td>' +
      '<td data-field="grids">' + esc(codesText(u.grids, t.none)) + '</td>' +
      '<td data-field="status">' + status + '</td>' +
      '<td class="gm-admin-actions"><button type="button" class="gm-button gm-button-small" data-action="edit">' +
      '<i class="fa-solid fa-pen" aria-hidden="true"></i> ' + esc(t.edit) + '</button> ' + toggle + '</td></tr>';
  }

  function editRow(u) {
    var t = ui();
    return '<tr class="gm-admin-edit" data-edit="' + esc(u.username) + '"><td colspan="7">' +
      '<form class="gm-admin-form gm-admin-form-inline" data-form="edit" autocomplete="off" novalidate>' +
      '<label>' + esc(t.role) + '<select name="role">' + roleOptions(u.role) + '</select></label>' +
      '<label>' + esc(t.communities) + '<input name="communities" value="' + esc((u.communities || []).join(', ')) +
      '" placeholder="' + esc(t.codes_hint) + '" spellcheck="false" /></label>' +
      '<label>' + esc(t.grids) + '<input name="grids" value="' + esc((u.grids || []).join(', ')) +
      '" placeholder="' + esc(t.codes_hint) + '" spellcheck="false" /></label>' +
      '<label>' + esc(t.new_password) + '<input name="password" type="password" placeholder="' + esc(t.password_keep) +
      '" autocomplete="new-password" /></label>' +
      '<div class="gm-admin-form-actions">' +
      '<button type="submit" class="gm-button gm-button-primary gm-button-small" data-action="save"><i class="fa-solid fa-floppy-disk" aria-hidden="true"></i> ' + esc(t.save) + '</button> ' +
      '<button type="button" class="gm-button gm-button-small" data-action="cancel">' + esc(t.cancel) + '</button></div>' +
      '<div class="gm-admin-error" role="alert" hidden></div></form></td></tr>';
  }

  function table() {
    return document.querySelector('[data-users]');
  }

  function render() {
    var t = ui();
    table().innerHTML = users.length
      ? users.map(row).join('')
      : '<tr><td colspan="7" class="gm-muted">' + esc(t.none) + '</td></tr>';
    document.querySelector('.gm-admin-count').textContent = GridMap.text('count', { n: users.length });
  }

  /** Read the users again and show them. */
  function load() {
    var s = state();
    var box = document.querySelector('[data-error="list"]');
    return GridMap.fetchJSON('/api/users')
      .then(function (list) {
        users = list;
        s.users = list;
        s.loads++;
        s.error = null;
        showError(box, null);
        render();
        return list;
      })
      .catch(function (err) {
        s.error = GridMap.errorText(err);
        box.hidden = false;
        box.textContent = GridMap.text('load_failed', { error: s.error });
        throw err;
      });
  }

  function done(message) {
    var s = state();
    s.saves++;
    GridMap.notify(message, 'ok');
    return load();
  }

  function failed(box, err) {
    state().error = GridMap.errorText(err);
    showError(box, err);
    throw err;
  }

  function addUser(form) {
    var box = form.querySelector('.gm-admin-error');
    var f = form.elements;
    var body = {
      username: f.username.value.trim(),
      display_name: f.display_name.value.trim() || null,
      role: f.role.value,
      communities: codes(f.communities.value),
      grids: codes(f.grids.value),
      password: f.password.value,
    };
    showError(box, null);
    form.querySelector('[data-action="add"]').disabled = true;
    return send('POST', '/api/users', body)
      .then(function (user) {
        form.reset();
        return done(GridMap.text('added', { username: user.username }));
      })
      .catch(function (err) {
        failed(box, err);
      })
      .finally(function () {
        form.querySelector('[data-action="add"]').disabled = false;
      });
  }

  function saveUser(username, form) {
    var box = form.querySelector('.gm-admin-error');
    var f = form.elements;
    var body = { role: f.role.value, communities: codes(f.communities.value), grids: codes(f.grids.value) };
    if (f.password.value) {
      body.password = f.password.value;
    }
    showError(box, null);
    return send('PATCH', '/api/users/' + encodeURIComponent(username), body)
      .then(function () {
        return done(GridMap.text('saved', { username: username }));
      })
      .catch(function (err) {
        failed(box, err);
      });
  }

  function setDisabled(username, disabled) {
    var box = document.querySelector('[data-error="list"]');
    showError(box, null);
    return send('PATCH', '/api/users/' + encodeURIComponent(username), { disabled: disabled })
      .then(function () {
        return done(GridMap.text(disabled ? 'disabled_done' : 'enabled_done', { username: username }));
      })
      .catch(function (err) {
        GridMap.notify(GridMap.text('failed', { error: GridMap.errorText(err) }));
        failed(box, err);
      });
  }

  function edit(username) {
    var open = table().querySelector('[data-edit]');
    if (open) {
      open.remove();
    }
    var u = users.filter(function (x) {
      return x.username === username;
    })[0];
    var tr = table().querySelector('tr[data-username="' + CSS.escape(username) + '"]');
    if (u && tr) {
      tr.insertAdjacentHTML('afterend', editRow(u));
      tr.nextElementSibling.querySelector('select').focus();
    }
  }

  /** Start the page: wire the add form and the table's buttons, read the users. */
  GridMap.adminUsers = function () {
    state();
    var add = document.querySelector('[data-form="add"]');
    add.addEventListener('submit', function (e) {
      e.preventDefault();
      addUser(add).catch(function () {});
    });
    var body = table();
    body.addEventListener('click', function (e) {
      var button = e.target.closest('[data-action]');
      var tr = button && button.closest('tr');
      if (!tr) {
        return;
      }
      var action = button.dataset.action;
      if (action === 'edit') {
        edit(tr.dataset.username);
      } else if (action === 'disable' || action === 'enable') {
        setDisabled(tr.dataset.username, action === 'disable').catch(function () {});
      } else if (action === 'cancel') {
        tr.remove();
      }
    });
    body.addEventListener('submit', function (e) {
      e.preventDefault();
      var tr = e.target.closest('[data-edit]');
      if (tr) {
        saveUser(tr.dataset.edit, e.target).catch(function () {});
      }
    });
    return load().catch(function () {});
  };
})();
