"""Credentials and the one authorization dependency every route carries (docs/access.md).

A request is authenticated by ``Authorization: Bearer <token>`` (API clients, QGIS) or by
the page's session cookie (then every unsafe method must also send the CSRF token the login
set, in ``X-CSRF-Token``). :func:`allow` returns the route's dependency: it finds the user,
refuses with 401/403 in zh-CN, stamps the request's database session with who acts (for the
history) and hands the principal to the scope checks of :mod:`gis_api.access`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from pwdlib import PasswordHash
from sqlalchemy import event
from sqlalchemy.orm import Session

from gis_api.access import (
    GRID_BOUND,
    Forbidden,
    Permission,
    Principal,
    Unauthenticated,
    check_changes,
)
from gis_api.access import Change as AccessChange
from gis_api.settings import Settings
from layers import accounts, db
from layers.errors import GridmapError

#: The page's session cookie and the CSRF cookie its scripts echo in ``X-CSRF-Token``.
SESSION_COOKIE = "gridmap_session"
CSRF_COOKIE = "gridmap_csrf"
CSRF_HEADER = "X-CSRF-Token"
#: Methods that change nothing: no CSRF token needed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The longest username and password accepted (argon2 hashes anything; a bound keeps a
#: request cheap).
MAX_USERNAME = 64
MAX_PASSWORD = 256

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    check_password_form(password)
    return _hasher.hash(password)


def check_password_form(password: str) -> None:
    """Refuse a password too short or too long to be one."""
    if len(password) < 8:
        msg = "密码至少 8 个字符"
        raise GridmapError(msg, loc=("password",))
    if len(password) > MAX_PASSWORD:
        msg = f"密码最多 {MAX_PASSWORD} 个字符"
        raise GridmapError(msg, loc=("password",))


def new_password() -> str:
    """Return a random password people can type (for demo users)."""
    return secrets.token_urlsafe(12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TooManyAttempts(GridmapError):
    """Too many login attempts from one address."""

    type = "too_many_attempts"
    status = 429


class Attempts:
    """Login attempts per client address in the last minute (one app's memory)."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def count(self, address: str, per_minute: int) -> None:
        """Count one attempt from ``address``; refuse (429) beyond ``per_minute``."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[address]
            while seen and now - seen[0] > 60:
                seen.popleft()
            if len(seen) >= per_minute:
                wait = int(60 - (now - seen[0])) + 1
                msg = f"登录尝试过于频繁，请 {wait} 秒后再试"
                raise TooManyAttempts(msg, loc=("body", "username"))
            seen.append(now)


@dataclass(frozen=True)
class Issued:
    """A credential just issued: the token (shown once) and, for sessions, its CSRF token."""

    token: str
    expires_at: Any
    csrf: str | None = None


def log_in(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    *,
    address: str,
    attempts: Attempts,
) -> accounts.UserRow:
    """Check a username and password; count failures and lock after too many.

    Commits what it counts (the session must not be inside ``session.begin()``), so a
    failure is remembered even though the caller then refuses.
    """
    attempts.count(address, settings.login_attempts_per_minute)
    wrong = Unauthenticated("用户名或密码错误", loc=("body", "password"))
    if not username or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        raise wrong
    user = accounts.find_user(session, username)
    if user is None:
        _hasher.verify(password, _DUMMY_HASH)  # the same work whether or not the user exists
        raise wrong
    if user.disabled:
        msg = "该账户已停用，请联系系统管理员"
        raise Unauthenticated(msg, loc=("body", "username"))
    if accounts.is_locked(session, user.id):
        msg = f"连续登录失败次数过多，账户已锁定 {settings.login_lock_minutes} 分钟，请稍后再试"
        raise Unauthenticated(msg, loc=("body", "username"))
    if not _hasher.verify(password, user.password_hash):
        locked = accounts.login_failed(
            session,
            user.id,
            lock_after=settings.login_lock_after,
            lock_minutes=settings.login_lock_minutes,
        )
        session.commit()
        if locked:
            msg = f"连续登录失败次数过多，账户已锁定 {settings.login_lock_minutes} 分钟"
            raise Unauthenticated(msg, loc=("body", "password"))
        raise wrong
    accounts.login_succeeded(session, user.id)
    session.commit()
    return user


_DUMMY_HASH = _hasher.hash("gridmap-no-such-user")


def issue(
    session: Session, user_id: int, kind: str, settings: Settings, *, name: str | None = None
) -> Issued:
    """Issue a session, API or personal token for a user; only its hash is stored."""
    hours = {
        "session": settings.session_hours,
        "api": settings.token_hours,
        "personal": settings.personal_token_days * 24,
    }[kind]
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "session" else None
    expires = accounts.add_token(
        session,
        user_id,
        kind=kind,
        token_hash=_digest(token),
        hours=hours,
        csrf_hash=None if csrf is None else _digest(csrf),
        name=name,
    )
    return Issued(token=token, expires_at=expires, csrf=csrf)


def revoke(session: Session, token: str) -> None:
    """Revoke a credential."""
    accounts.revoke(session, _digest(token))


def principal_of(user: accounts.UserRow, kind: str | None) -> Principal:
    """Return the principal of a stored user."""
    every = user.role == "admin"
    return Principal(
        username=user.username,
        role=user.role,
        user_id=user.id,
        display_name=user.display_name,
        communities=None if every else frozenset(user.community_ids),
        grids=frozenset(user.grid_ids),
        community_codes=user.community_codes,
        grid_codes=user.grid_codes,
        token_kind=kind,
    )


def _credentials(request: Request) -> tuple[str, str] | None:
    """Return (token, kind of channel) from the request: bearer header or session cookie."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "Authorization 头格式应为“Bearer <令牌>”"
            raise Unauthenticated(msg, loc=("header", "Authorization"))
        return token.strip(), "bearer"
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, "cookie") if cookie else None


def authenticate(request: Request) -> Principal | None:
    """Return who sent the request, None when anonymous; refuse bad credentials (401)."""
    found = _credentials(request)
    if found is None:
        return None
    token, via = found
    if len(token) > 200:
        msg = "令牌无效"
        raise Unauthenticated(msg, loc=("header", "Authorization"))
    kinds = ("api", "personal") if via == "bearer" else ("session",)
    with request.app.state.sessionmaker() as session:
        user = accounts.user_for_token(session, _digest(token), kinds)
        if user is None:
            msg = "登录已过期或令牌无效，请重新登录"
            raise Unauthenticated(msg, loc=("header", "Authorization"))
        if via == "cookie" and request.method not in SAFE_METHODS:
            expected = accounts.csrf_of(session, _digest(token))
            given = request.headers.get(CSRF_HEADER, "")
            if not expected or not hmac.compare_digest(expected, _digest(given)):
                msg = "请求缺少有效的 CSRF 令牌：请刷新页面后重试"
                raise Forbidden(msg, loc=("header", CSRF_HEADER))
    return principal_of(user, "session" if via == "cookie" else "bearer")


class PageForbidden(Forbidden):
    """A page the user's role or scope does not allow: the app answers a zh-CN page (403)."""


class LoginRequired(GridmapError):
    """A page asked for by someone not logged in: the app redirects to the login page."""

    type = "not_authenticated"
    status = 401


class Guard:
    """The one authorization check: every route carries one, through :func:`allow`."""

    def __init__(self, permission: Permission, *, page: bool = False) -> None:
        self.permission = permission
        self.page = page

    def __call__(self, request: Request) -> Principal | None:
        """Find the user and refuse unless the role has the route's permission.

        On a public route (the login form) stale credentials count as none, so a browser
        holding a revoked session can log in again; a page sends them to the login page.
        """
        try:
            principal = authenticate(request)
        except (Unauthenticated, Forbidden):
            if self.permission is Permission.PUBLIC:
                principal = None
            elif self.page:
                msg = "登录已过期，请重新登录"
                raise LoginRequired(msg, loc=("auth",)) from None
            else:
                raise
        request.state.principal = principal
        if self.permission is Permission.PUBLIC:
            return principal
        if principal is None:
            if self.page:
                msg = "请先登录"
                raise LoginRequired(msg, loc=("auth",))
            msg = "请先登录（缺少登录凭据）"
            raise Unauthenticated(msg, loc=("header", "Authorization"))
        try:
            principal.require(self.permission)
            # Every route that names a community in its query is limited to the user's own.
            principal.check_community(request.query_params.get("community"))
        except Forbidden as exc:
            if self.page:
                raise PageForbidden(exc.msg, loc=exc.loc) from exc
            raise
        return principal

    def __repr__(self) -> str:
        return f"Guard({self.permission.value})"


def allow(permission: Permission, *, page: bool = False) -> Any:
    """Return the dependency that lets only roles with ``permission`` through."""
    return Depends(Guard(permission, page=page))


def current(request: Request) -> Principal:
    """Return the principal the route's guard found (routes that need a user)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        msg = "请先登录"
        raise Unauthenticated(msg, loc=("header", "Authorization"))
    return principal


CurrentUser = Annotated[Principal, Depends(current)]

#: The guards routes carry, one per route: ``@router.get(..., dependencies=[auth.READ])``.
PUBLIC = allow(Permission.PUBLIC)
READ = allow(Permission.READ)
READ_PAGE = allow(Permission.READ, page=True)
ANALYSE = allow(Permission.ANALYSE)
EDIT = allow(Permission.EDIT)
IMPORT = allow(Permission.IMPORT)
SAVE_PLANS = allow(Permission.SAVE_PLANS)
RESTRUCTURE = allow(Permission.RESTRUCTURE)
REPORT_EVENTS = allow(Permission.REPORT_EVENTS)
EVENT_STEPS = allow(Permission.EVENT_STEPS)
EVENT_PHOTOS = allow(Permission.EVENT_PHOTOS)
HISTORY = allow(Permission.HISTORY)
RESTORE = allow(Permission.RESTORE)
MANAGE_USERS = allow(Permission.MANAGE_USERS)
MANAGE_USERS_PAGE = allow(Permission.MANAGE_USERS, page=True)


# --- the database session acts for the user; its writes are checked against their scope ------


def acting_session(request: Request) -> Iterator[Session]:
    """Yield the request's session, acting for its user (history) and checked on commit."""
    with request.app.state.sessionmaker() as session:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is not None:
            channel = "import" if request.url.path.endswith("/import") else "api"
            db.act_as(session, principal.username, channel)
            session.info["principal"] = principal
        yield session


@event.listens_for(Session, "before_commit")
def _check_scope(session: Session) -> None:
    principal: Principal | None = session.info.get("principal")
    if principal is None or session.in_nested_transaction():
        return  # a savepoint's release is no commit: the whole transaction is checked at its end
    if principal.role not in GRID_BOUND:
        # Everyone else is bound by communities only: checked in the database, so an import
        # of 100,000 rows is not read back to be checked.
        if principal.communities is not None:
            outside = accounts.outside_communities(session, sorted(principal.communities))
            if outside is not None:
                msg = f"无权修改其他社区的数据（{outside}）"
                raise Forbidden(msg, loc=("scope", "community"))
        return
    changes = accounts.changes_in_transaction(session)
    check_changes(
        principal,
        (
            AccessChange(c.layer, c.action, c.old, c.new, c.member_grid, c.grid_codes, c.zone_grids)
            for c in changes
        ),
    )
