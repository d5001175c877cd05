"""Settings of the app and the CLI, from ``GRIDMAP_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from layers import domain
from layers.db import normalise_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of gridmap; the domain ones default to the field's numbers (layers.domain)."""

    model_config = SettingsConfigDict(env_prefix="GRIDMAP_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL; unset means the project-local cluster (gridmap db up).",
    )
    local_db_dir: Path = PROJECT_ROOT / ".gridmap"
    host: str = "127.0.0.1"
    port: int = 8000
    boundary_tolerance_m: float = Field(
        default=20.0, ge=0, description="How far outside its community a feature may lie."
    )
    network_buffer_m: float = Field(
        default=500.0, ge=0, description="Walking network kept around a community's boundary."
    )
    gate_tolerance_m: float = Field(
        default=15.0, gt=0, description="How close a path must pass a gate to go through it."
    )
    max_upload_mb: float = Field(default=50.0, gt=0)
    max_body_mb: float = Field(
        default=20.0, gt=0, description="Largest JSON request body (10,000 features fit)."
    )
    log_file: Path | None = Field(
        default=None, description="Where tracebacks go; unset: gridmap.log in local_db_dir."
    )
    lead_min_households: int = Field(
        default=domain.LEAD_MIN_HOUSEHOLDS,
        ge=1,
        description="Foshan rule: households for a building's own lead.",
    )
    lead_min_occupancy: float = Field(
        default=domain.LEAD_MIN_OCCUPANCY,
        ge=0,
        le=1,
        description="'High occupancy' (no fixed number in the source).",
    )
    lead_max_walk_m: float = Field(
        default=domain.LEAD_MAX_WALK_M,
        gt=0,
        description="Neighbours for shared zones: walking metres.",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="How long a page's login lasts."
    )
    token_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long an API token lasts."
    )
    personal_token_days: float = Field(
        default=365.0, gt=0, le=3650, description="How long a personal token (QGIS) lasts."
    )
    login_lock_after: int = Field(
        default=5, ge=1, description="Failed logins in a row that lock an account."
    )
    login_lock_minutes: int = Field(default=15, ge=1, description="How long a lock lasts.")
    login_attempts_per_minute: int = Field(
        default=10, ge=1, description="Login attempts one client address may make a minute."
    )
    cli_user: str = Field(
        default="cli-local",
        description="Who the command line acts as: a local admin, recorded in the history.",
    )
    secure_cookies: bool = Field(
        default=False, description="Send cookies only over HTTPS (set behind a TLS proxy)."
    )
    tianditu_token: str | None = Field(
        default=None, description="天地图 key; the Tianditu basemap is offered when set."
    )

    @property
    def log_path(self) -> Path:
        """The log file of the server and the CLI."""
        return self.log_file or self.local_db_dir / "gridmap.log"

    @field_validator("database_url")
    @classmethod
    def _psycopg(cls, value: str | None) -> str | None:
        return normalise_url(value) if value else None


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
