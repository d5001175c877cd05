"""Who may do what, where: roles, their permissions, scopes and personal data (docs/access.md).

Everything about access is decided here and applied in one place each: :func:`allow` is the
one authorization dependency every route carries (``gis_api.auth`` finds the user), writes
are checked against the user's scope by :func:`check_changes` from the rows the database
itself recorded (``history``), and personal fields are masked by :func:`redact`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from layers.errors import GridmapError
from layers.schema import PERSONAL_COLUMNS


class Permission(StrEnum):
    """What a route needs. ``PUBLIC`` routes need nobody (the login page, ``/health``)."""

    PUBLIC = "public"
    READ = "read"
    ANALYSE = "analyse"
    EDIT = "edit"
    IMPORT = "import"
    SAVE_PLANS = "save_plans"
    RESTRUCTURE = "restructure"
    REPORT_EVENTS = "report_events"
    EVENT_STEPS = "event_steps"
    EVENT_PHOTOS = "event_photos"
    HISTORY = "history"
    RESTORE = "restore"
    MANAGE_USERS = "manage_users"


P = Permission

#: The permissions of each role (docs/access.md, "角色").
ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "planner": frozenset(
        {
            P.PUBLIC,
            P.READ,
            P.ANALYSE,
            P.EDIT,
            P.IMPORT,
            P.SAVE_PLANS,
            P.RESTRUCTURE,
            P.HISTORY,
            P.REPORT_EVENTS,
            P.EVENT_STEPS,
            P.EVENT_PHOTOS,
        }
    ),
    "officer": frozenset(
        {
            P.PUBLIC,
            P.READ,
            P.ANALYSE,
            P.EDIT,
            P.SAVE_PLANS,
            P.HISTORY,
            P.REPORT_EVENTS,
            P.EVENT_STEPS,
            P.EVENT_PHOTOS,
        }
    ),
    "field": frozenset({P.PUBLIC, P.READ, P.ANALYSE, P.EDIT, P.REPORT_EVENTS, P.EVENT_PHOTOS}),
    "department": frozenset({P.PUBLIC, P.READ, P.EVENT_STEPS, P.EVENT_PHOTOS}),
    "viewer": frozenset({P.PUBLIC, P.READ, P.ANALYSE}),
}
#: Roles that see personal fields (names, phones) in their communities.
SEES_PERSONAL: frozenset[str] = frozenset({"admin", "planner", "officer", "field"})
#: Roles whose writes are limited to the grids they are assigned to.
GRID_BOUND: frozenset[str] = frozenset({"officer", "field"})
#: Roles' names as users read them.
ROLE_NAMES: Mapping[str, str] = {
    "admin": "系统管理员",
    "planner": "社区书记/规划人员",
    "officer": "网格员",
    "field": "扫楼人员",
    "department": "职能部门人员",
    "viewer": "只读用户",
}
#: What each permission is, for refusals.
PERMISSION_NAMES: Mapping[Permission, str] = {
    P.PUBLIC: "访问",
    P.READ: "查看数据",
    P.ANALYSE: "运行分析",
    P.EDIT: "修改图层",
    P.IMPORT: "上传导入文件",
    P.SAVE_PLANS: "保存方案",
    P.RESTRUCTURE: "调整社区划分",
    P.REPORT_EVENTS: "上报事件",
    P.EVENT_STEPS: "办理事件",
    P.EVENT_PHOTOS: "上传事件照片",
    P.HISTORY: "查看修改记录",
    P.RESTORE: "恢复历史版本",
    P.MANAGE_USERS: "管理用户",
}
#: The building fields field staff record (扫楼): the only ones they may change.
FIELD_STAFF_FIELDS: frozenset[str] = frozenset(
    {
        "households",
        "occupancy",
        "residents",
        "registered_residents",
        "floating_residents",
        "party_members",
        "mobile_party_members",
        "lead_name",
        "lead_phone",
        "floors",
        "visited_on",
        "note",
    }
)
#: Columns every change touches by itself (not a user's edit).
_BOOKKEEPING: frozenset[str] = frozenset(
    {"updated_at", "version", "grid_id", "compound_id", "street_id"}
)


class Unauthenticated(GridmapError):
    """No credentials, or credentials that are wrong, expired, revoked or of a disabled user."""

    type = "not_authenticated"
    status = 401


class Forbidden(GridmapError):
    """The user is known but their role or scope does not allow this."""

    type = "forbidden"
    status = 403


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user with a role, the communities and grids they work in.

    ``communities`` and ``grids`` are ids; ``None`` means every one (admins, the CLI).
    """

    username: str
    role: str
    user_id: int | None = None
    display_name: str | None = None
    communities: frozenset[int] | None = None
    grids: frozenset[int] = field(default_factory=frozenset)
    community_codes: tuple[str, ...] = ()
    grid_codes: tuple[str, ...] = ()
    token_kind: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the role may do."""
        return ROLE_PERMISSIONS.get(self.role, frozenset({P.PUBLIC}))

    def may(self, permission: Permission) -> bool:
        """Whether the role has ``permission``."""
        return permission in self.permissions

    @property
    def sees_personal(self) -> bool:
        """Whether personal fields (names, phones) reach this user."""
        return self.role in SEES_PERSONAL

    def working_in(self, community_ids: Iterable[int]) -> Principal:
        """Return this user with ``community_ids`` added to their communities."""
        if self.communities is None:
            return self
        return replace(self, communities=self.communities | frozenset(community_ids))

    def in_community(self, community_id: int | None) -> bool:
        """Whether the community is one this user works in."""
        return self.communities is None or community_id in self.communities

    @property
    def within(self) -> list[int] | None:
        """The community ids a read is limited to (None: every one)."""
        return None if self.communities is None else sorted(self.communities)

    def check_community(self, code: str | None) -> None:
        """Refuse (403) a community (by code) this user does not work in."""
        if code is None or self.communities is None or code in self.community_codes:
            return
        mine = "、".join(self.community_codes) or "（无）"
        msg = f"无权访问社区“{code}”的数据：你所属的社区是 {mine}"
        raise Forbidden(msg, loc=("query", "community"))

    def require(self, permission: Permission) -> None:
        """Refuse (403) unless the role has ``permission``."""
        if not self.may(permission):
            role = ROLE_NAMES.get(self.role, self.role)
            msg = f"“{role}”角色无权{PERMISSION_NAMES[permission]}（用户 {self.username}）"
            raise Forbidden(msg, loc=("auth", "role"))


# --- personal data ------------------------------------------------------------------------------


def mask(column: str, value: Any) -> Any:
    """Mask a personal value: a phone keeps its first 3 and last 4 digits, a name its first."""
    if value is None or value == "":
        return value
    text = str(value)
    if "phone" in column:
        digits = "".join(c for c in text if c.isdigit())
        if len(digits) >= 7:
            return f"{digits[:3]}****{digits[-4:]}"
        return "****"
    return text[0] + "*" * max(1, len(text) - 1)


def redact(principal: Principal, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``properties`` with personal fields masked unless ``principal`` may see them."""
    out = dict(properties)
    if principal.sees_personal:
        return out
    for column in PERSONAL_COLUMNS & out.keys():
        out[column] = mask(column, out[column])
    return out


def redact_frame(principal: Principal, frame: Any) -> Any:
    """Return a table (DataFrame) with personal columns masked unless the user may see them."""
    if principal.sees_personal:
        return frame
    columns = [c for c in frame.columns if c in PERSONAL_COLUMNS]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].map(lambda v, c=column: mask(c, v)).astype(object)
    return frame


# --- the scope of writes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One row a transaction changed, as the history trigger recorded it."""

    layer: str
    action: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    #: The grid of the building a lead-zone member or a photo names (they carry no grid).
    member_grid: int | None = None
    #: Codes of the grids the rows name, for the message.
    grid_codes: Mapping[int, str] = field(default_factory=dict)
    #: For a lead zone: the grids its member buildings lie in.
    zone_grids: tuple[int, ...] = ()


def check_changes(principal: Principal, changes: Iterable[Change]) -> None:
    """Refuse (403) a transaction whose changes leave the user's scope; nothing is kept then.

    Every old and new row must lie in the user's communities; grid-bound roles (officers,
    field staff) may only change rows of their own grids; field staff only the building
    fields they record (:data:`FIELD_STAFF_FIELDS`), never create or delete. The check
    reads what the database recorded, so it holds for every write path alike.
    """
    if principal.communities is None and principal.role not in GRID_BOUND:
        return
    for c in net_changes(changes):
        for row in (c.old, c.new):
            if row is None:
                continue
            community = _community_of(c.layer, row)
            if community is not None and not principal.in_community(community):
                msg = f"无权修改其他社区的数据（{_what(c, row)}）"
                raise Forbidden(msg, loc=("scope", "community"))
            if principal.role in GRID_BOUND:
                _check_grid(principal, c, row)
        if principal.role == "field":
            _check_field_staff(c)


def net_changes(changes: Iterable[Change]) -> list[Change]:
    """Fold a transaction's changes into one per row: as it was first, as it is last.

    An import inserts a feature and then assigns it its grid; what counts is where the
    feature ends up (and where it was before the transaction), not the steps between.
    """
    folded: dict[tuple[str, Any], Change] = {}
    for c in changes:
        row = c.new if c.new is not None else c.old
        key = (c.layer, None if row is None else row.get("id", row.get("building_id")))
        first = folded.get(key)
        if first is None:
            folded[key] = c
            continue
        action = (
            "delete" if c.action == "delete" else "insert" if first.action == "insert" else "update"
        )
        grids = {**first.grid_codes, **c.grid_codes}
        folded[key] = Change(c.layer, action, first.old, c.new, c.member_grid, grids, c.zone_grids)
    return [c for c in folded.values() if not (c.old is None and c.new is None)]


def _community_of(layer: str, row: Mapping[str, Any]) -> int | None:
    if layer == "communities":
        return int(row["id"])
    value = row.get("community_id")
    return None if value is None else int(value)


def _what(c: Change, row: Mapping[str, Any]) -> str:
    name = row.get("name") or row.get("code") or row.get("id") or row.get("building_id")
    return f"{c.layer} {name}"


def _check_grid(principal: Principal, c: Change, row: Mapping[str, Any]) -> None:
    if c.layer == "lead_zones":
        # A zone is the officer's when all its buildings are (its members are checked too).
        outside = sorted(set(c.zone_grids) - set(principal.grids))
        if outside:
            mine = "、".join(principal.grid_codes) or "（未分配网格）"
            msg = f"只能修改本人负责网格（{mine}）内的楼长责任区：{_what(c, row)} 含其他网格的楼栋"
            raise Forbidden(msg, loc=("scope", "grid"))
        return
    # A member or a photo is in the grid of its building (it carries no grid of its own).
    grid = c.member_grid if c.layer in _OF_A_BUILDING else row.get("grid_id")
    if grid is None or int(grid) not in principal.grids:
        mine = "、".join(principal.grid_codes) or "（未分配网格）"
        where = (
            "不属于任何网格"
            if grid is None
            else f"属于网格 {c.grid_codes.get(int(grid), f'id {grid}')}"
        )
        msg = f"只能修改本人负责网格（{mine}）内的数据：{_what(c, row)} {where}"
        raise Forbidden(msg, loc=("scope", "grid"))


def _check_field_staff(c: Change) -> None:
    if c.layer == "building_photos" and c.action in {"insert", "update"}:
        return  # a photo taken, or one taken by mistake put aside (docs/field.md)
    if c.layer != "buildings" or c.action != "update" or c.old is None or c.new is None:
        msg = f"扫楼人员只能修改楼栋的登记信息，不能{_ACTION_ZH[c.action]}{c.layer}"
        raise Forbidden(msg, loc=("scope", "fields"))
    changed = {k for k in c.new if c.new.get(k) != c.old.get(k)} - _BOOKKEEPING
    extra = sorted(changed - FIELD_STAFF_FIELDS)
    if extra:
        msg = f"扫楼人员只能修改楼栋的登记信息，不能修改：{'、'.join(extra)}"
        raise Forbidden(msg, loc=("scope", "fields"))


_ACTION_ZH = {"insert": "新增", "update": "修改", "delete": "删除"}
#: Rows that lie in the grid of the building they name.
_OF_A_BUILDING = frozenset({"lead_zone_members", "building_photos"})
