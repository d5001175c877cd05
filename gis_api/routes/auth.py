"""Logging in and out: the API's token (OAuth2 password flow), the login page, who am I.

The login page sets two cookies: the session (HttpOnly) and a CSRF token the page's scripts
send back in ``X-CSRF-Token`` with every write. API clients use ``POST /api/auth/token`` and
``Authorization: Bearer``; QGIS a personal token made on ``POST /api/auth/personal-tokens``.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from gis_api import auth
from gis_api.access import ROLE_NAMES
from gis_api.auth import PUBLIC, CurrentUser
from gis_api.deps import SessionDep, SettingsDep
from layers.errors import GridmapError

router = APIRouter(tags=["登录 auth"])


class TokenOut(BaseModel):
    """An issued bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_at: str


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _attempts(request: Request) -> auth.Attempts:
    attempts: auth.Attempts = request.app.state.login_attempts
    return attempts


@router.post(
    "/api/auth/token",
    dependencies=[PUBLIC],
    summary="登录取得访问令牌（OAuth2 密码模式：表单字段 username、password）",
)
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    """Check the username and password; answer a bearer token for the API, OGC and tiles."""
    user = auth.log_in(
        session,
        settings,
        form.username,
        form.password,
        address=_address(request),
        attempts=_attempts(request),
    )
    with session.begin():
        issued = auth.issue(session, user.id, "api", settings)
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at.isoformat())


class PersonalTokenIn(BaseModel):
    """A long-lived token for a desktop client such as QGIS."""

    name: str = Field(default="QGIS", min_length=1, max_length=64)


@router.post(
    "/api/auth/personal-tokens",
    dependencies=[PUBLIC],
    summary="创建个人访问令牌（供 QGIS 等桌面软件使用，仅显示一次）",
)
def personal_token(
    body: PersonalTokenIn, session: SessionDep, settings: SettingsDep, who: CurrentUser
) -> TokenOut:
    """Issue a personal access token for the logged-in user."""
    assert who.user_id is not None
    with session.begin():
        issued = auth.issue(session, who.user_id, "personal", settings, name=body.name)
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at.isoformat())


@router.get("/api/auth/me", dependencies=[PUBLIC], summary="当前登录用户")
def me(who: CurrentUser) -> dict[str, Any]:
    """Who is logged in, their role, communities, grids and what they may do."""
    return {
        "username": who.username,
        "display_name": who.display_name,
        "role": who.role,
        "role_zh": ROLE_NAMES.get(who.role, who.role),
        "communities": list(who.community_codes),
        "grids": list(who.grid_codes),
        "permissions": sorted(p.value for p in who.permissions),
        "sees_personal": who.sees_personal,
    }


@router.post("/api/auth/logout", dependencies=[PUBLIC], summary="退出登录（使当前令牌失效）")
def logout(request: Request, session: SessionDep) -> Response:
    """Revoke the credential the request came with and clear the page's cookies."""
    found = auth._credentials(request)
    if found is not None:
        with session.begin():
            auth.revoke(session, found[0])
    response = Response(status_code=204)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    response.delete_cookie(auth.CSRF_COOKIE, path="/")
    return response


# --- the login page -----------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Return a local path to go to after logging in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/map"
    return target


def _login_page(next_url: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    html = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 · 社区网格化管理</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/gridmap/login.css">
</head><body>
<main class="login">
  <h1>社区网格化管理</h1>
  <form method="post" action="/login">
    <input type="hidden" name="next" value="{escape(next_url)}">
    <label>用户名<input name="username" autocomplete="username" required maxlength="64"></label>
    <label>密码<input name="password" type="password" autocomplete="current-password"
      required maxlength="256"></label>
    {message}
    <button type="submit">登录</button>
  </form>
  <p class="hint">忘记密码请联系系统管理员。连续输错 5 次，账户将锁定 15 分钟。</p>
</main>
</body></html>"""
    return HTMLResponse(html, status_code=status)


@router.get("/login", dependencies=[PUBLIC], response_class=HTMLResponse, summary="登录页")
def login_page(next: str | None = None) -> HTMLResponse:
    """Show the zh-CN login form."""
    return _login_page(_safe_next(next))


@router.post("/login", dependencies=[PUBLIC], response_class=HTMLResponse, summary="登录页提交")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/map",
) -> Response:
    """Log in from the form: set the session and CSRF cookies and go where the user was going."""
    target = _safe_next(next)
    try:
        user = auth.log_in(
            session,
            settings,
            username,
            password,
            address=_address(request),
            attempts=_attempts(request),
        )
    except GridmapError as exc:
        session.rollback()
        return _login_page(target, exc.msg, status=exc.status)
    with session.begin():
        issued = auth.issue(session, user.id, "session", settings)
    if user.role == "field" and target == "/map":
        target = "/field"  # field staff work on the tablet page unless they asked for another
    response = RedirectResponse(target, status_code=303)
    max_age = int(settings.session_hours * 3600)
    response.set_cookie(
        auth.SESSION_COOKIE,
        issued.token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    response.set_cookie(
        auth.CSRF_COOKIE,
        issued.csrf or "",
        max_age=max_age,
        httponly=False,  # the page's scripts read it to send it back
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """Send someone who is not logged in to the login page, coming back afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


def forbidden_page(message: str) -> HTMLResponse:
    """Return the zh-CN page for a page the role or scope does not allow (403)."""
    html = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>无权访问 · 社区网格化管理</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/gridmap/login.css">
</head><body>
<main class="login">
  <h1>无权访问</h1>
  <p class="error" role="alert">{escape(message)}</p>
  <p><a href="/map">返回工作地图</a> · <a href="/login">换一个账号登录</a></p>
</main>
</body></html>"""
    return HTMLResponse(html, status_code=403)
