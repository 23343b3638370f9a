"""Settings of the whole system: one `Settings` read from `HAZMAT_` environment variables."""

from __future__ import annotations

import functools
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from transport.rules.params import RuleParams, default_params

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Typed settings with national defaults; environment variables start with ``HAZMAT_``.

    Other modules receive a `Settings` as an argument; only the entry points call
    :func:`get_settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix="HAZMAT_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    #: SQLAlchemy URL: the SQLite file is the embedded default, PostgreSQL is production
    #: (``postgresql+psycopg://user@host:5432/hazmat``).
    database_url: str = "sqlite:///./hazmat.db"
    #: Bring the database schema to the newest migration when the API or CLI starts.
    auto_migrate: bool = True
    #: Zone in which validity dates of certificates and permits are read (a certificate
    #: "valid until 2025-03-01" is valid through that day in this zone).
    local_timezone: str = "Asia/Shanghai"
    #: Key that signs API access tokens (HS256, at least 32 characters). Unset: a random key
    #: per API process, so tokens end with the process; set it when several processes serve.
    auth_secret_key: SecretStr | None = None
    #: How long an API access token is valid.
    access_token_ttl_s: int = 8 * 3600
    #: Road network the API routes on and draws its maps over (``HAZMAT_NETWORK``): `default`
    #: (the embedded extract), an ``.osm.pbf`` / OSM XML / ``.graphml`` file, or an osmnx
    #: ``place:`` / ``bbox:`` query (see `geodata.sources.load_network`).
    network_source: str = Field(
        default="default",
        min_length=1,
        validation_alias=AliasChoices("HAZMAT_NETWORK", "network_source"),
    )
    #: Folder of the track archive (GeoParquet by day, `geodata.track_archive`); when set, the
    #: what-if analysis also counts the past trips a proposed restriction would have hit.
    track_archive: Path | None = None
    #: Thresholds of the monitoring rules, national defaults unless set, e.g.
    #: ``HAZMAT_RULES__SPEED__NIGHT_FACTOR=0.7`` or ``HAZMAT_RULES__PARKING__CLUSTER_RADIUS_M=300``.
    rules: RuleParams = Field(default_factory=default_params)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            msg = f"`database_url` must be a sqlite:// or postgresql+psycopg:// URL, got {value!r}"
            raise ValueError(msg)
        return value

    @field_validator("auth_secret_key")
    @classmethod
    def _check_auth_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            msg = "`auth_secret_key` must be at least 32 characters"
            raise ValueError(msg)
        return value

    @field_validator("access_token_ttl_s")
    @classmethod
    def _check_access_token_ttl_s(cls, value: int) -> int:
        if not 60 <= value <= 7 * 24 * 3600:
            msg = f"`access_token_ttl_s` must be between 60 s and 7 days, got {value}"
            raise ValueError(msg)
        return value

    @field_validator("local_timezone")
    @classmethod
    def _check_local_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            msg = f"`local_timezone` {value!r} is not an IANA time zone"
            raise ValueError(msg) from err
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone as an object."""
        return ZoneInfo(self.local_timezone)


@functools.cache
def get_settings() -> Settings:
    """Return the settings read once from the environment (tests override or clear the cache)."""
    return Settings()
