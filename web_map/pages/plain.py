"""The pages without a map: the admin's user management and what a role may not open.

:func:`admin_users_page` is the user management page (``/admin/users``, admins only): a table
of users from ``/api/users``, a form to add one, and per user a change of role, communities,
grids or password and disabling (its script, ``admin_users.js``, does the requests).
:func:`no_analysis_page` is what the analysis pages show a role that may not run analyses
(职能部门人员): a notice instead of a map whose every request would be refused.

Both share the map pages' header (brand, title, links, the user and 退出登录) and look, and
load only local files. They are plain HTML from ``web_map/templates/`` (Jinja, escaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from web_map import labels
from web_map.elements import TEMPLATES, to_js
from web_map.pages.base import CommunityChoice, PageLink, UserBadge, site_urls, user_area

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)

#: The strings of the shared script (core.js) a page without a map uses: its error texts.
_CORE_LABELS = ("unknown", "error_server", "error_request", "error_offline", "logout_failed")


@dataclass(frozen=True)
class PlainPageData:
    """What every page without a map has: who is logged in, the header's links, the URLs.

    ``static_url`` is the URL prefix of ``web_map/static/`` and ``api_root`` that of the API
    (both without a trailing slash; ``""``: the same origin).
    """

    user: UserBadge | None = None
    links: tuple[PageLink, ...] = ()
    static_url: str = "/static"
    api_root: str = ""


@dataclass(frozen=True)
class AdminUsersData(PlainPageData):
    """The user management page's data: the roles offered (code, zh-CN name), the communities."""

    roles: tuple[tuple[str, str], ...] = ()
    communities: tuple[CommunityChoice, ...] = ()


@dataclass(frozen=True)
class NoAnalysisData(PlainPageData):
    """The notice of an analysis page a role may not use: the page's title, the officer map."""

    page_title: str = ""
    officer_url: str = "/map"


def _render(template: str, data: PlainPageData, *, title: str, **context: Any) -> str:
    config: dict[str, Any] = {
        "apiRoot": data.api_root.rstrip("/"),
        "labels": {key: labels.UI[key] for key in _CORE_LABELS},
        "user": None if data.user is None else data.user.config(),
        "urls": site_urls(data.api_root),
        **context.pop("config", {}),
    }
    config["labels"].update(context.pop("script_labels", {}))
    html: str = _ENV.get_template(template).render(
        title=title,
        brand=labels.BRAND,
        static=data.static_url.rstrip("/"),
        links=[{"label": k.label, "url": k.url, "icon": k.icon} for k in data.links],
        user=user_area(data.user, data.api_root),
        config_js=to_js(config),
        **{"on_admin": False, **context},
    )
    return html


def admin_users_page(data: AdminUsersData) -> str:
    """Return the user management page (``/admin/users``) as a complete HTML document."""
    if not data.roles:
        msg = "roles must name at least one role"
        raise ValueError(msg)
    return _render(
        "admin_users.html.j2",
        data,
        title=labels.ADMIN_USERS_TITLE,
        t=labels.ADMIN_UI,
        roles=list(data.roles),
        communities=list(data.communities),
        script_labels=labels.ADMIN_UI,
        config={
            "roles": [{"code": code, "label": label} for code, label in data.roles],
            "communities": [{"code": c.code, "name": c.name} for c in data.communities],
        },
        on_admin=True,
    )


def no_analysis_page(data: NoAnalysisData) -> str:
    """Return the notice an analysis page shows a role that may not run analyses."""
    role = data.user.role_label if data.user is not None else ""
    notice = {
        **labels.NO_ANALYSIS,
        "text": labels.NO_ANALYSIS["text"].format(role=role, page=data.page_title),
    }
    return _render(
        "no_analysis.html.j2",
        data,
        title=data.page_title,
        notice=notice,
        officer_url=data.officer_url,
    )
