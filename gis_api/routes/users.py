"""Managing users (admins only): list, add, change role, scope or password, disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from gis_api import auth
from gis_api.access import ROLE_NAMES
from gis_api.deps import PlainStr, SessionDep
from layers import accounts
from layers.errors import NotFound
from layers.models import ROLES

router = APIRouter(prefix="/api/users", tags=["用户 users"])

Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{2,64}$", description="用户名")]
Role = Annotated[str, Field(pattern=f"^({'|'.join(ROLES)})$", description="角色")]


def _user_json(u: accounts.UserRow) -> dict[str, Any]:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "role_zh": ROLE_NAMES.get(u.role, u.role),
        "communities": list(u.community_codes),
        "grids": list(u.grid_codes),
        "disabled": u.disabled,
    }


@router.get("", dependencies=[auth.MANAGE_USERS], summary="用户列表")
def list_users(session: SessionDep) -> list[dict[str, Any]]:
    """Every user with role, communities, grids and whether disabled (never a password)."""
    return [_user_json(u) for u in accounts.list_users(session)]


class UserIn(BaseModel):
    """A new user."""

    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    display_name: PlainStr | None = Field(default=None, max_length=64)
    communities: list[PlainStr] = Field(default_factory=list, max_length=500)
    grids: list[PlainStr] = Field(default_factory=list, max_length=500)


@router.post("", status_code=201, dependencies=[auth.MANAGE_USERS], summary="新增用户")
def add_user(body: UserIn, session: SessionDep) -> dict[str, Any]:
    """Create a user in the given communities and grids."""
    with session.begin():
        accounts.add_user(
            session,
            body.username,
            role=body.role,
            password_hash=auth.hash_password(body.password),
            communities=body.communities,
            grids=body.grids,
            display_name=body.display_name,
        )
    user = accounts.find_user(session, body.username)
    assert user is not None
    return _user_json(user)


class UserChange(BaseModel):
    """What to change of a user; fields left out stay as they are."""

    role: Role | None = None
    communities: list[PlainStr] | None = Field(default=None, max_length=500)
    grids: list[PlainStr] | None = Field(default=None, max_length=500)
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)


@router.patch("/{username}", dependencies=[auth.MANAGE_USERS], summary="修改用户")
def change_user(username: Username, body: UserChange, session: SessionDep) -> dict[str, Any]:
    """Change a user's role, communities and grids, password, or disable them."""
    with session.begin():
        user = accounts.find_user(session, username)
        if user is None:
            msg = f"用户“{username}”不存在"
            raise NotFound(msg, loc=("path", "username"))
        if body.role is not None:
            accounts.set_role(session, username, body.role)
        if body.communities is not None or body.grids is not None:
            accounts.set_memberships(
                session,
                user.id,
                communities=body.communities
                if body.communities is not None
                else user.community_codes,
                grids=body.grids if body.grids is not None else user.grid_codes,
            )
        if body.password is not None:
            accounts.set_password(session, username, auth.hash_password(body.password))
        if body.disabled is not None:
            accounts.set_disabled(session, username, disabled=body.disabled)
    changed = accounts.find_user(session, username)
    assert changed is not None
    return _user_json(changed)
