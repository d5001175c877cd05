"""The field staff's tablet page (扫楼登记, ``/field``): touch-first and offline-first.

:func:`field_page` is the page: a header with the user, the connection and the edits waiting,
a map of the user's grids' buildings, a list sorted "未走访" first and by distance, a form per
building (with 上报事件: an event at the building, for roles that may report) and a conflict
screen. Its script (``field.js``) keeps every edit and event report in IndexedDB and sends
them in order; :func:`field_service_worker` is the service worker (``field_sw.js`` with
its configuration) that keeps the page, its files and the last building data for offline use.

Plain data in, HTML and JavaScript out: no database, no app. The page's strings are here
(:data:`FIELD_UI`), none in its scripts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from web_map.elements import TEMPLATES, to_js

STATIC = Path(__file__).resolve().parents[1] / "static"
#: The page's own files under ``static/gridmap/`` and the vendor files it loads.
OWN_SCRIPTS = ("gridmap/field.js",)
OWN_STYLES = ("gridmap/field.css",)
VENDOR_SCRIPTS = ("vendor/leaflet/leaflet.js",)
VENDOR_STYLES = ("vendor/leaflet/leaflet.css",)
#: The basemap the page shows, and the hosts whose tiles its worker keeps once viewed.
BASEMAP_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_HOSTS = ("tile.openstreetmap.org",)
SERVICE_WORKER_SOURCE = STATIC / "gridmap" / "field_sw.js"
TEMPLATE = "field_page.html.j2"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)

#: Every string the page shows (its scripts hold none).
FIELD_UI: dict[str, str] = {
    "title": "扫楼登记",
    "brand": "社区网格化管理",
    "online": "在线",
    "offline": "离线",
    "queue_empty": "修改已全部发送",
    "queue_waiting": "{n} 条修改待发送",
    "queue_conflicts": "{n} 条冲突待处理",
    "progress": "今日已走访 {done} / {total} 栋",
    "locate": "定位",
    "locating": "正在定位…",
    "located": "已定位（精度约 {m} 米）",
    "locate_failed": "无法定位：{why}",
    "locate_unsupported": "此设备不支持定位",
    "list_title": "楼栋",
    "log_title": "今日修改",
    "log_empty": "今天还没有修改",
    "visited": "已走访",
    "not_visited": "未走访",
    "distance_m": "{m} 米",
    "distance_km": "{km} 公里",
    "no_buildings": "本人网格内没有楼栋",
    "loading": "正在读取楼栋…",
    "from_cache": "离线：显示本机保存的楼栋数据",
    "load_failed": "读取楼栋失败，且本机没有保存的数据：请联网后重试",
    "save": "保存",
    "close": "关闭",
    "no_changes": "没有改动",
    "saved_toast": "已保存在本机，将自动发送",
    "invalid_number": "{label}应为不小于 0 的整数",
    "invalid_percent": "{label}应在 0 到 100 之间",
    "invalid_date": "{label}不能晚于今天",
    "photo": "楼栋照片",
    "photo_take": "拍照",
    "photo_count": "{n} 张照片",
    "photo_saved": "照片已保存在本机，将自动发送",
    "photo_waiting": "待发送的照片",
    "photo_summary": "照片",
    "photo_unsupported": "此浏览器不能保存照片，请升级浏览器",
    "dismiss_summary": "冲突：保留他人的值",
    "percent_unit": "%",
    "state_saved": "已保存",
    "state_pending": "待发送",
    "state_sent": "已发送",
    "state_conflict": "冲突",
    "state_resolved": "冲突已处理",
    "state_refused": "未被接受",
    "conflict_title": "修改冲突：{name}",
    "conflict_text": (
        "你修改的字段已被他人改过（可能在你离线期间）。请逐项选择保留哪个值，"
        "提交后将基于最新版本重新发送。"
    ),
    "conflict_field": "字段",
    "conflict_base": "原值",
    "conflict_current": "当前值",
    "conflict_mine": "我的值",
    "conflict_submit": "按所选提交",
    "conflict_later": "稍后处理",
    "conflict_open": "处理冲突",
    "empty_value": "（空）",
    "refused": "服务器未接受：{why}",
    "login_needed": "登录已过期：修改已保存在本机，重新登录后自动发送",
    "login_link": "重新登录",
    "logout": "退出登录",
    "logout_waiting": "还有 {n} 条修改未发送，退出后需重新登录才能发送。确定退出？",
    "read_only": "你的角色不能修改楼栋，此页只能查看",
    "grid": "网格",
    "compound": "小区",
    "code": "编号",
    # events (事件) reported at the building, queued on the device like the edits
    "event_report": "上报事件",
    "event_title": "上报事件：{name}",
    "event_sub": "在本楼栋发现的问题（乱堆物料、路灯损坏、房屋漏水……），保存在本机，联网后自动上报",
    "event_group": "大类",
    "event_category": "小类",
    "event_choose": "请选择",
    "event_description": "问题描述",
    "event_description_hint": "发生了什么、在哪里、影响到谁",
    "event_save": "保存上报",
    "event_missing": "请选择小类并填写问题描述",
    "event_no_categories": "本机还没有事件类别：请联网打开本页一次",
    "event_saved": "事件已保存在本机，将自动上报",
    "event_summary": "事件：{category}：{description}",
    "event_sent": "已上报，事件编号 {code}",
    "event_duplicate": "附近已有同类未结事件，可能是同一问题：",
    "event_duplicate_item": "{code} · {status} · 相距 {m} 米：{description}",
    "event_duplicate_toast": "附近已有同类未结事件：请在“今日修改”中确认是否仍然上报",
    "event_force": "仍然上报",
    "event_withdraw": "撤销上报",
    "queue_duplicates": "{n} 条事件待确认",
    "state_duplicate": "疑似重复",
    "state_withdrawn": "已撤销",
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of the form: name, zh-CN label and kind.

    Kinds: ``int``, ``percent``, ``str``, ``text`` (several lines) and ``date``.
    """

    name: str
    label: str
    kind: str
    personal: bool = False


@dataclass(frozen=True)
class FieldUser:
    """Who is logged in, as the header shows them, and the grids they record in."""

    username: str
    role: str
    role_label: str
    display_name: str | None = None
    may_edit: bool = False
    grids: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldPageData:
    """The field page's data.

    ``visited`` lists (building id, ISO time) of the user's recent edits recorded by the
    server, so a building edited on another device counts as visited today. ``static_url``
    and ``root`` are URL prefixes without a trailing slash (``""``: the same origin).
    """

    user: FieldUser
    fields: tuple[FieldSpec, ...]
    visited: tuple[tuple[int, str], ...] = ()
    static_url: str = "/static"
    root: str = ""
    labels: dict[str, str] = field(default_factory=lambda: dict(FIELD_UI))


def _files() -> tuple[Path, ...]:
    names = (*OWN_SCRIPTS, *OWN_STYLES, *VENDOR_SCRIPTS, *VENDOR_STYLES)
    return (*(STATIC / n for n in names), SERVICE_WORKER_SOURCE, TEMPLATES / TEMPLATE)


def asset_version() -> str:
    """Return a short hash of the page's files: a new one makes the worker cache afresh."""
    digest = hashlib.sha256()
    for path in _files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:12]


def _urls(static_url: str, names: tuple[str, ...], version: str) -> list[str]:
    return [f"{static_url.rstrip('/')}/{name}?v={version}" for name in names]


def _sw_url(root: str) -> str:
    return f"{root}/field/sw.js"


def field_config(data: FieldPageData, version: str | None = None) -> dict[str, Any]:
    """Return the configuration ``field.js`` starts from."""
    version = version or asset_version()
    root = data.root.rstrip("/")
    return {
        "root": root,
        "page": f"{root}/field",
        "swUrl": _sw_url(root),
        "basemapUrl": BASEMAP_URL,
        "swScope": f"{root}/field",
        "loginUrl": f"{root}/login",
        "version": version,
        "user": {
            "username": data.user.username,
            "name": data.user.display_name or data.user.username,
            "role": data.user.role,
            "roleLabel": data.user.role_label,
            "mayEdit": data.user.may_edit,
            "grids": list(data.user.grids),
            "communities": list(data.user.communities),
        },
        "fields": [
            {"name": f.name, "label": f.label, "kind": f.kind, "personal": f.personal}
            for f in data.fields
        ],
        "visited": [[fid, at] for fid, at in data.visited],
        "labels": data.labels,
    }


def field_page(data: FieldPageData) -> str:
    """Return the field page (``/field``) as a complete HTML document."""
    if not data.fields:
        msg = "the field page needs at least one field to record"
        raise ValueError(msg)
    version = asset_version()
    static = data.static_url.rstrip("/")
    html: str = _ENV.get_template(TEMPLATE).render(
        t=data.labels,
        user=data.user,
        styles=_urls(static, (*VENDOR_STYLES, *OWN_STYLES), version),
        scripts=_urls(static, (*VENDOR_SCRIPTS, *OWN_SCRIPTS), version),
        config_js=to_js(field_config(data, version)),
    )
    return html


def field_service_worker(static_url: str = "/static", root: str = "") -> str:
    """Return the service worker: ``field_sw.js`` after the files it keeps for offline use."""
    version = asset_version()
    static = static_url.rstrip("/")
    root = root.rstrip("/")
    config = {
        "version": version,
        "page": f"{root}/field",
        "root": root,
        "assets": _urls(
            static, (*VENDOR_SCRIPTS, *VENDOR_STYLES, *OWN_SCRIPTS, *OWN_STYLES), version
        ),
        # GET answers kept for offline use (network first): who I am, the buildings, the
        # event categories (the report form offline).
        "data": [
            f"{root}/api/auth/me",
            f"{root}/api/layers/buildings",
            f"{root}/api/event-categories",
        ],
        # Basemap hosts whose viewed tiles are kept for offline use, and how many at most
        # (about 25 kB each: 3,000 tiles are a few grids at zoom 15 to 19).
        "tiles": list(TILE_HOSTS),
        "maxTiles": 3000,
    }
    source = SERVICE_WORKER_SOURCE.read_text(encoding="utf-8")
    return f"self.GRIDMAP_FIELD_SW = {to_js(config)};\n{source}"
