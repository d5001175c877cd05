"""The ORM models of the spatial store (SQLAlchemy 2 + GeoAlchemy2, geometry in EPSG:4326).

Every attribute of docs/domain.md, "图层", is a real column. Range and enum checks are
generated from :mod:`layers.schema` so the database refuses what the importer refuses;
geometry validity is checked in the database too. Community-scoped features are unique by
``(community_id, code)``.
"""

from __future__ import annotations

import builtins
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from layers.schema import EARLIEST_DATE, LAYERS

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations can name them)."""

    metadata = MetaData(naming_convention=NAMING)


def _checks(layer: str, **rules: str) -> tuple[Any, ...]:
    """CHECK constraints for a layer: field bounds and choices from the schema, valid geometry."""
    out: list[Any] = [
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
    ]
    for f in LAYERS[layer].fields:
        if f.name in {"street", "compound"}:
            continue
        if f.min is not None:
            out.append(CheckConstraint(f"{f.name} >= {f.min:g}", name=f"{f.name}_min"))
        if f.max is not None:
            out.append(CheckConstraint(f"{f.name} <= {f.max:g}", name=f"{f.name}_max"))
        if f.max_length is not None:
            rule = f"char_length({f.name}) <= {f.max_length}"
            out.append(CheckConstraint(rule, name=f"{f.name}_length"))
        if f.type == "date":
            rule = f"{f.name} >= DATE '{EARLIEST_DATE}'"
            out.append(CheckConstraint(rule, name=f"{f.name}_min"))
        if f.choices:
            values = ", ".join(f"'{v}'" for v in f.choices)
            out.append(CheckConstraint(f"{f.name} IN ({values})", name=f"{f.name}_choice"))
    out += [CheckConstraint(sql, name=name) for name, sql in rules.items()]
    return tuple(out)


def _geom(kind: str) -> Mapped[Any]:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=False)


def _fk(table: str, *, nullable: bool = True, cascade: bool = False) -> Mapped[Any]:
    ondelete = "CASCADE" if cascade else "SET NULL"
    return mapped_column(
        ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable, index=True
    )


class _Feature:
    """Columns every feature has: a surrogate key, the user's code and timestamps."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class _Versioned:
    """Optimistic concurrency: every edit bumps ``version``; a stale one is refused.

    The API's PATCH and DELETE compare the version the editor loaded with this column in the
    database (under a row lock), and the ORM checks it on every flush as well.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (a declared_attr takes the class)
        """Let the ORM check and bump ``version`` on every update it flushes."""
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Street(_Versioned, _Feature, Base):
    """A street (街道) or town (镇): the level above a community."""

    __tablename__ = "streets"
    __table_args__ = (UniqueConstraint("code"), *_checks("streets"))

    name: Mapped[str] = mapped_column(Text, nullable=False)
    geom: Mapped[Any] = _geom("MULTIPOLYGON")


class Community(_Versioned, _Feature, Base):
    """A community (社区): the unit a community party committee governs."""

    __tablename__ = "communities"
    __table_args__ = (
        UniqueConstraint("code"),
        *_checks(
            "communities",
            party_le_residents="party_members <= residents",
            floating_le_residents="floating_residents <= residents",
        ),
    )

    name: Mapped[str] = mapped_column(Text, nullable=False)
    street_id: Mapped[int | None] = _fk("streets")
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    registered_residents: Mapped[int | None] = mapped_column(Integer)
    floating_residents: Mapped[int | None] = mapped_column(Integer)
    staff: Mapped[int | None] = mapped_column(Integer)
    cadres: Mapped[int | None] = mapped_column(Integer)
    party_members: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = _geom("MULTIPOLYGON")


class _Scoped(_Feature):
    """A feature that belongs to a community; its code is unique within it."""

    community_id: Mapped[int] = _fk("communities", nullable=False, cascade=True)


class Grid(_Versioned, _Scoped, Base):
    """A grid (网格): a management cell with one grid officer."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "code"), *_checks("grids"))

    name: Mapped[str | None] = mapped_column(Text)
    officer_name: Mapped[str | None] = mapped_column(Text)
    officer_phone: Mapped[str | None] = mapped_column(String(32))
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    #: A locked grid is kept as it is when the community's grids are redrawn (docs/grids.md).
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    geom: Mapped[Any] = _geom("MULTIPOLYGON")


class Compound(_Versioned, _Scoped, Base):
    """A gated compound (小区/院落); its boundary is a wall where it has gates."""

    __tablename__ = "compounds"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        *_checks("compounds"),
    )

    grid_id: Mapped[int | None] = _fk("grids")
    name: Mapped[str] = mapped_column(Text, nullable=False)
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    build_year: Mapped[int | None] = mapped_column(Integer)
    maturity: Mapped[str | None] = mapped_column(String(16))
    has_party_branch: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    has_owners_committee: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false()
    )
    property_company: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = _geom("MULTIPOLYGON")


class Gate(_Versioned, _Scoped, Base):
    """A compound gate (出入口): the only passage through the compound's wall."""

    __tablename__ = "gates"
    __table_args__ = (UniqueConstraint("community_id", "code"), *_checks("gates"))

    compound_id: Mapped[int | None] = _fk("compounds")
    name: Mapped[str | None] = mapped_column(Text)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="mixed")
    geom: Mapped[Any] = _geom("POINT")


class Building(_Versioned, _Scoped, Base):
    """A residential building (楼栋): the unit field staff mark."""

    __tablename__ = "buildings"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        *_checks(
            "buildings",
            party_le_residents="party_members <= residents",
            mobile_le_party="mobile_party_members <= coalesce(party_members, 0)",
            floating_le_residents="floating_residents <= residents",
        ),
    )

    compound_id: Mapped[int | None] = _fk("compounds")
    grid_id: Mapped[int | None] = _fk("grids")
    name: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    floating_residents: Mapped[int | None] = mapped_column(Integer)
    occupancy: Mapped[float | None] = mapped_column(Float)
    floors: Mapped[int | None] = mapped_column(Integer)
    party_members: Mapped[int | None] = mapped_column(Integer)
    mobile_party_members: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    lead_name: Mapped[str | None] = mapped_column(Text)
    lead_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    visited_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = _geom("MULTIPOLYGON")


class ServicePoint(_Versioned, _Scoped, Base):
    """A service point (服务点): centre, sub-centre, activity room, red house or other."""

    __tablename__ = "service_points"
    __table_args__ = (UniqueConstraint("community_id", "code"), *_checks("service_points"))

    compound_id: Mapped[int | None] = _fk("compounds")
    grid_id: Mapped[int | None] = _fk("grids")
    name: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = _geom("POINT")


class CandidateVenue(_Versioned, _Scoped, Base):
    """A room that could become a red house (候选场地), with its four legal-use checks."""

    __tablename__ = "candidate_venues"
    __table_args__ = (UniqueConstraint("community_id", "code"), *_checks("candidate_venues"))

    compound_id: Mapped[int | None] = _fk("compounds")
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    ground_floor: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    ventilation: Mapped[str | None] = mapped_column(String(8))
    lawyer_consulted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    housing_filed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    publicly_noticed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    property_recorded: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    geom: Mapped[Any] = _geom("POINT")


class Barrier(_Versioned, _Scoped, Base):
    """A wall or fence (围墙/围栏) that walking cannot cross except at a gate."""

    __tablename__ = "barriers"
    __table_args__ = (UniqueConstraint("community_id", "code"), *_checks("barriers"))

    kind: Mapped[str] = mapped_column(String(8), nullable=False, server_default="wall")
    geom: Mapped[Any] = _geom("MULTILINESTRING")


class WalkWay(_Scoped, Base):
    """A walkable line as imported (an OSM way or a drawn path), before splitting."""

    __tablename__ = "walk_ways"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    )

    highway: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = _geom("LINESTRING")


class WalkNode(Base):
    """A node of the routable walking network (a junction, an end, a wall side)."""

    __tablename__ = "walk_nodes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_id: Mapped[int] = _fk("communities", nullable=False, cascade=True)
    component: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    geom: Mapped[Any] = _geom("POINT")


class WalkEdge(Base):
    """An edge of the routable walking network, pgRouting-style (``source``, ``target``).

    ``gate_id`` is set on the short edge that passes through a gate: closing the gate means
    dropping exactly these edges.
    """

    __tablename__ = "walk_edges"
    __table_args__ = (
        CheckConstraint("length_m >= 0", name="length_min"),
        Index("ix_walk_edges_source_target", "source", "target"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_id: Mapped[int] = _fk("communities", nullable=False, cascade=True)
    source: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("walk_nodes.id", ondelete="CASCADE"), nullable=False
    )
    target: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("walk_nodes.id", ondelete="CASCADE"), nullable=False
    )
    length_m: Mapped[float] = mapped_column(Float, nullable=False)
    highway: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    way_code: Mapped[str | None] = mapped_column(String(64))
    gate_id: Mapped[int | None] = _fk("gates")
    geom: Mapped[Any] = _geom("LINESTRING")


ZONE_KINDS = ("own", "shared", "rotating")


class LeadZone(_Scoped, Base):
    """A building-lead zone (楼长责任区): one building or a group sharing one lead.

    Made by the grouping analysis and saved when an officer accepts it; a ``locked`` zone
    is kept as it is by later runs.
    """

    __tablename__ = "lead_zones"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        CheckConstraint(f"kind IN {ZONE_KINDS}", name="kind_choice"),
        CheckConstraint("households >= 0", name="households_min"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    )

    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    lead_building_id: Mapped[int | None] = _fk("buildings")
    households: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    party_members: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    has_party_member: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    party_group_suggested: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false()
    )
    diameter_m: Mapped[float | None] = mapped_column(Float)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))


class LeadZoneMember(Base):
    """A building's place in a lead zone, and the rule that put it there."""

    __tablename__ = "lead_zone_members"

    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("lead_zones.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rule: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)


#: Model of each layer name the importer and the API know.
MODELS: dict[str, type[Base]] = {
    "streets": Street,
    "communities": Community,
    "grids": Grid,
    "compounds": Compound,
    "gates": Gate,
    "buildings": Building,
    "service_points": ServicePoint,
    "candidate_venues": CandidateVenue,
    "barriers": Barrier,
}


# --- the party organisation ladder (docs/grids.md) ----------------------------------------------

#: Kinds of party organisation, from the top of the ladder: community committee (社区党委),
#: grid-zone branch (网格党支部), compound branch (小区党支部), building party group (楼栋党小组).
PARTY_KINDS = ("committee", "grid_branch", "compound_branch", "building_group")


class PartyOrganisation(_Versioned, _Feature, Base):
    """A party organisation of the community's ladder, with the place it covers.

    A grid-zone branch names its grid, a compound branch its compound, a building party group
    its building; the committee covers the whole community. ``parent`` is the organisation
    above it. The secretary's name and phone are personal data.
    """

    __tablename__ = "party_organisations"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        CheckConstraint(f"kind IN {PARTY_KINDS}", name="kind_choice"),
        CheckConstraint("members >= 0", name="members_min"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("kind <> 'grid_branch' OR grid_id IS NOT NULL", name="grid_branch_grid"),
        CheckConstraint(
            "kind <> 'compound_branch' OR compound_id IS NOT NULL",
            name="compound_branch_compound",
        ),
        CheckConstraint(
            "kind <> 'building_group' OR building_id IS NOT NULL",
            name="building_group_building",
        ),
        CheckConstraint("version >= 1", name="version_min"),
    )

    community_id: Mapped[int] = _fk("communities", nullable=False, cascade=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    parent_id: Mapped[int | None] = _fk("party_organisations")
    grid_id: Mapped[int | None] = _fk("grids")
    compound_id: Mapped[int | None] = _fk("compounds")
    building_id: Mapped[int | None] = _fk("buildings")
    members: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    secretary_name: Mapped[str | None] = mapped_column(Text)
    secretary_phone: Mapped[str | None] = mapped_column(String(32))
    #: The secretary also chairs the owners' committee (一肩挑).
    chairs_owners_committee: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false()
    )
    founded_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


# --- users, sessions and the change history (docs/access.md) -----------------------------------

#: Roles, from most to least: what each may do is in ``gis_api.access`` and docs/access.md.
ROLES = ("admin", "planner", "officer", "field", "department", "viewer")
#: Kinds of credential: a page's cookie session, an API token, a personal access token (QGIS).
TOKEN_KINDS = ("session", "api", "personal")
#: What a history row records.
HISTORY_ACTIONS = ("insert", "update", "delete")


class User(Base):
    """A person who logs in: a role, the communities and grids they work in."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role_choice"),
        CheckConstraint("username ~ '^[A-Za-z0-9_.@-]{2,64}$'", name="username_form"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_min"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class UserCommunity(Base):
    """A community a user works in."""

    __tablename__ = "user_communities"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UserGrid(Base):
    """A grid a user is assigned to (grid officers, field staff)."""

    __tablename__ = "user_grids"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(
        ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuthToken(Base):
    """A credential: only its SHA-256 is stored; it expires and can be revoked."""

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint(f"kind IN {TOKEN_KINDS}", name="kind_choice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str | None] = mapped_column(String(64))
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HistoryEntry(Base):
    """One change of one row of a layer, written by the database's own triggers.

    ``changed_by`` and ``channel`` come from the transaction's ``gridmap.user`` and
    ``gridmap.channel`` settings (``db:<role>`` and ``sql`` when a client set none), so no
    path that reaches the tables, the API, an import, the CLI or plain SQL, goes unrecorded.
    """

    __tablename__ = "history"
    __table_args__ = (
        CheckConstraint(f"action IN {HISTORY_ACTIONS}", name="action_choice"),
        Index("ix_history_layer_feature", "layer", "feature_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    feature_id: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    old: Mapped[Any | None] = mapped_column(JSONB)
    new: Mapped[Any | None] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    #: The transaction that made the change: what one transaction changed is checked at once.
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("txid_current()"), nullable=False, index=True
    )


class AppliedEdit(Base):
    """An edit a client sent with an ``Idempotency-Key``: sent again, it is answered, not redone.

    Tablets resend what they are not sure arrived; the key (the edit's id on the device) makes
    the resend harmless. ``response`` is the answer the first delivery got.
    """

    __tablename__ = "applied_edits"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    feature_id: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class BuildingPhoto(Base):
    """A photo field staff took of a building (docs/field.md): its own upload, kept re-encoded.

    ``uid`` is the photo's id on the device, so a resent upload finds the photo it already
    made. ``image`` is the re-encoded JPEG (EXIF removed), ``thumb`` a small one for lists; a
    removed photo is kept with ``deleted_at`` set, so a mistaken removal loses nothing.
    """

    __tablename__ = "building_photos"
    __table_args__ = (
        CheckConstraint("bytes > 0", name="bytes_min"),
        CheckConstraint("width > 0 AND height > 0", name="size_min"),
        CheckConstraint("char_length(caption) <= 200", name="caption_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[Any] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: The building's community, kept beside it so every scope check reads it from the row.
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=False, index=True
    )
    media_type: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    image: Mapped[builtins.bytes] = mapped_column(LargeBinary, nullable=False)
    thumb: Mapped[builtins.bytes] = mapped_column(LargeBinary, nullable=False)
    caption: Mapped[str | None] = mapped_column(Text)
    taken_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(String(128))


class EditConflict(Base):
    """An edit refused with 409 because its fields collided: waiting until its author decides.

    The tablet keeps the edit and shows the conflict screen; the officer's map lists what is
    still waiting. An accepted edit of the same feature by the same user, or the user's
    "keep theirs", settles it (``resolution`` ``merged`` or ``dismissed``).
    """

    __tablename__ = "edit_conflicts"
    __table_args__ = (
        CheckConstraint("resolution IN ('merged', 'dismissed')", name="resolution_choice"),
        Index(
            "ix_edit_conflicts_open",
            "layer",
            "feature_id",
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    feature_id: Mapped[int] = mapped_column(Integer, nullable=False)
    base_version: Mapped[int] = mapped_column(Integer, nullable=False)
    current_version: Mapped[int] = mapped_column(Integer, nullable=False)
    fields: Mapped[Any] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(16))


# --- events: the community blows the whistle, departments report (docs/events.md) ---------------

#: An event's states, in workflow order (the steps between them: ``layers.events.ACTIONS``).
EVENT_STATUSES = (
    "reported",
    "filed",
    "cancelled",
    "dispatched",
    "accepted",
    "handled",
    "fed_back",
    "verified",
    "closed",
)
#: Where an event was reported from.
EVENT_SOURCES = ("map", "field", "open311", "api", "import")


class Department(Base):
    """A department events are dispatched to (城管执法、环卫、路灯……), with its users."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)


class DepartmentUser(Base):
    """A user who acts for a department (role ``department``)."""

    __tablename__ = "department_users"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EventCategory(Base):
    """A kind of event: a main class (大类, no parent) or a subclass (小类) with its rules.

    A subclass names the department it goes to, the hours a department has to handle it and
    the distance within which an open event of the same kind is suggested as a duplicate.
    """

    __tablename__ = "event_categories"
    __table_args__ = (
        CheckConstraint("handle_hours > 0", name="handle_hours_min"),
        CheckConstraint("duplicate_m >= 0", name="duplicate_m_min"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    parent_id: Mapped[int | None] = _fk("event_categories")
    department_id: Mapped[int | None] = _fk("departments")
    handle_hours: Mapped[float] = mapped_column(Float, nullable=False, server_default="72")
    duplicate_m: Mapped[float] = mapped_column(Float, nullable=False, server_default="50")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())


class EventTransition(Base):
    """A step the workflow allows, from one status to another (the database enforces them)."""

    __tablename__ = "event_transitions"

    from_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    to_status: Mapped[str] = mapped_column(String(16), primary_key=True)


class Event(Base):
    """An event (事件): a problem reported at a place, and where it stands in the workflow.

    Its place (community, grid, compound, building) and responsible officer are derived from
    its point when reported; ``due_at`` is the deadline of its current step. A trigger refuses
    any change of ``status`` that is not a step of ``event_transitions``.
    """

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(f"status IN {EVENT_STATUSES}", name="status_choice"),
        CheckConstraint(f"source IN {EVENT_SOURCES}", name="source_choice"),
        CheckConstraint("char_length(description) BETWEEN 1 AND 2000", name="description_length"),
        CheckConstraint("version >= 1", name="version_min"),
        Index("ix_events_community_id_status", "community_id", "status"),
        # The dashboard's reads of one community, index-only (migration 0009).
        Index(
            "ix_events_community_id_figures",
            "community_id",
            postgresql_include=[
                "status",
                "grid_id",
                "category_id",
                "department_id",
                "reported_at",
                "closed_at",
                "due_at",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    community_id: Mapped[int] = _fk("communities", nullable=False, cascade=True)
    grid_id: Mapped[int | None] = _fk("grids")
    compound_id: Mapped[int | None] = _fk("compounds")
    building_id: Mapped[int | None] = _fk("buildings")
    category_id: Mapped[int] = mapped_column(
        ForeignKey("event_categories.id"), nullable=False, index=True
    )
    department_id: Mapped[int | None] = _fk("departments")
    officer: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str] = mapped_column(String(128), nullable=False)
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="reported")
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    geom: Mapped[Any] = _geom("POINT")


class EventStep(Base):
    """One step of an event's workflow: who took it, when, with what note (its timeline)."""

    __tablename__ = "event_steps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    by_user: Mapped[str] = mapped_column(String(128), nullable=False)
    by_role: Mapped[str] = mapped_column(String(16), nullable=False)
    department_id: Mapped[int | None] = _fk("departments")
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: The deadline the step answered (the previous status's), and whether it came late.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())


class EventPhoto(Base):
    """A photo of an event: by the reporter, or by whoever took a step (the work done).

    ``stage`` is the event's status when the photo came (``reported``, ``handled``...), so the
    timeline shows each step's photos. Kept re-encoded without EXIF, as buildings' photos are.
    """

    __tablename__ = "event_photos"
    __table_args__ = (
        CheckConstraint("bytes > 0", name="bytes_min"),
        CheckConstraint("width > 0 AND height > 0", name="size_min"),
        CheckConstraint("char_length(caption) <= 200", name="caption_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[Any] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    image: Mapped[builtins.bytes] = mapped_column(LargeBinary, nullable=False)
    thumb: Mapped[builtins.bytes] = mapped_column(LargeBinary, nullable=False)
    caption: Mapped[str | None] = mapped_column(Text)
    taken_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
