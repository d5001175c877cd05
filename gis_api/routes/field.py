"""The field staff's tablet page (扫楼登记, ``/field``) and its service worker.

The page is ``web_map.pages.field``'s: this module hands it plain data (who is logged in,
the form's fields with their zh-CN labels from ``layers.schema``, the buildings the user
edited lately) and serves the worker that keeps it working offline. The page reads and
writes through the API (``/api/auth/me``, ``/api/layers/buildings``), so it holds no other
data.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from gis_api import auth
from gis_api.access import FIELD_STAFF_FIELDS, ROLE_NAMES, Permission
from gis_api.auth import CurrentUser
from gis_api.deps import SessionDep
from layers.schema import LAYERS
from web_map.pages.field import (
    FieldPageData,
    FieldSpec,
    FieldUser,
    field_page,
    field_service_worker,
)

router = APIRouter(tags=["页面 pages"])

#: The form's fields, in order; only those buildings have and field staff may record are
#: shown. The photo is not a field: it is its own upload (``/api/layers/buildings/{id}/photos``).
FORM_FIELDS = (
    "households",
    "occupancy",
    "residents",
    "floating_residents",
    "party_members",
    "mobile_party_members",
    "lead_name",
    "lead_phone",
    "visited_on",
    "note",
)

#: The buildings the user changed lately (the page keeps those of today as visited).
_RECENT = text(
    """
    SELECT feature_id, max(changed_at) AS at
    FROM history
    WHERE layer = 'buildings' AND action = 'update' AND changed_by = :user
      AND feature_id IS NOT NULL AND changed_at > now() - interval '36 hours'
    GROUP BY feature_id
    ORDER BY feature_id
    """
)


def form_fields() -> tuple[FieldSpec, ...]:
    """Return the form's fields: name, zh-CN label and kind, as the buildings layer has them."""
    by_name = {f.name: f for f in LAYERS["buildings"].fields}
    out = []
    for name in FORM_FIELDS:
        spec = by_name.get(name)
        if spec is None or name not in FIELD_STAFF_FIELDS:
            continue
        kind: str = spec.type if spec.type in {"int", "date"} else "str"
        if name == "occupancy":
            kind = "percent"
        elif spec.max_length is not None and spec.max_length > 100:
            kind = "text"  # a textarea
        out.append(FieldSpec(name, spec.zh, kind, spec.personal))
    return tuple(out)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get(
    "/field",
    dependencies=[auth.READ_PAGE],
    response_class=HTMLResponse,
    summary="扫楼登记（平板，离线可用）",
)
def field(request: Request, session: SessionDep, who: CurrentUser) -> HTMLResponse:
    """Return the field staff's page: the user's grids' buildings, a form per building.

    Edits are kept on the device and sent with ``If-Match`` and ``Idempotency-Key`` when
    online (docs/robustness.md, "同时编辑"); conflicts are resolved field by field.
    """
    rows = session.execute(_RECENT, {"user": who.username}).all()
    root = _root(request)
    data = FieldPageData(
        user=FieldUser(
            username=who.username,
            role=who.role,
            role_label=ROLE_NAMES.get(who.role, who.role),
            display_name=who.display_name,
            may_edit=who.may(Permission.EDIT),
            grids=tuple(who.grid_codes),
            communities=tuple(who.community_codes),
        ),
        fields=form_fields(),
        visited=tuple((int(r.feature_id), r.at.isoformat()) for r in rows),
        static_url=f"{root}/static",
        root=root,
    )
    # The page names the user: never kept by a shared cache, always asked for afresh.
    headers = {"Cache-Control": "no-cache, private"}
    return HTMLResponse(field_page(data), headers=headers)


@router.get("/field/sw.js", dependencies=[auth.PUBLIC], include_in_schema=False)
def service_worker(request: Request) -> Response:
    """Return the field page's service worker (no data: the list of the page's files).

    ``Service-Worker-Allowed`` lets it control ``/field`` itself, not only ``/field/...``.
    """
    root = _root(request)
    return Response(
        field_service_worker(f"{root}/static", root),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": f"{root}/field", "Cache-Control": "no-cache"},
    )
