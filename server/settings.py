"""Server settings: defaults, then an optional TOML file, then ``MAMMO_SERVER_*`` variables.

The file is the one named by ``MAMMO_SERVER_CONFIG_FILE`` or ``/etc/mammo-server/server.toml``
when it exists. Outside development the server refuses a missing, default or short secret.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from server.errors import ConfigurationError

DEFAULT_CONFIG_FILE = Path("/etc/mammo-server/server.toml")
DEFAULT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused in production
MIN_SECRET_LENGTH = 32


def config_file() -> Path | None:
    """The settings file in use, if any."""
    explicit = os.environ.get("MAMMO_SERVER_CONFIG_FILE")
    if explicit:
        return Path(explicit)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class ServerSettings(BaseSettings):
    """Everything the central server can be configured with. Unknown keys are refused."""

    model_config = SettingsConfigDict(
        env_prefix="MAMMO_SERVER_", extra="forbid", validate_default=True
    )

    environment: Literal["development", "production"] = "development"
    database_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/mammo"
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_connect_timeout_s: int = Field(default=5, ge=1, le=60)
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    jwt_issuer: str = "mammo-server"
    jwt_audience: str = "mammo-workstation"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    password_time_cost: int = Field(default=2, ge=1)
    password_memory_kib: int = Field(default=19456, ge=8)
    password_parallelism: int = Field(default=1, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    predict_enabled: bool = False
    predict_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="Proxies trusted for X-Forwarded-For (nginx)."
    )
    model_store_dir: Path = Field(
        default=Path("/var/lib/mammo-server/models"),
        description="Content-addressed files of the model versions (docs/model-rollout.md).",
    )
    recalibration_min_per_class: int = Field(
        default=100, ge=1,
        description="Outcomes of each class `model recalibrate` needs (biopsy malignant; "
                    "benign or no cancer).",
    )

    @field_validator("database_url")
    @classmethod
    def _bare_postgres_url_uses_the_installed_driver(cls, url: str) -> str:
        """``postgresql://`` (and Heroku's ``postgres://``), the form most people write, makes
        SQLAlchemy 2 load psycopg 3; this server installs psycopg2. Without psycopg 3 such a
        URL is read as the psycopg2 one it means instead of failing at start."""
        scheme, sep, rest = url.partition("://")
        if sep and scheme in ("postgresql", "postgres") and not _psycopg3_installed():
            return f"postgresql+psycopg2://{rest}"
        return url

    @model_validator(mode="after")
    def _secret_is_strong_outside_development(self) -> ServerSettings:
        secret = self.secret_key.get_secret_value()
        if self.environment != "development" and (
            secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"MAMMO_SERVER_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters outside development"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))


def _psycopg3_installed() -> bool:
    return importlib.util.find_spec("psycopg") is not None


def load_settings(**overrides: object) -> ServerSettings:
    """Build the settings; a bad file or variable becomes a :class:`ConfigurationError`."""
    path = config_file()
    if path is not None and not path.is_file():
        raise ConfigurationError(f"The server settings file {path} does not exist.")
    try:
        return ServerSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"The server settings cannot be used ({problems}).") from exc
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"The server settings file could not be read: {exc}") from exc
