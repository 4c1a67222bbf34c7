"""Client settings: defaults, then a site file, then the user's file, then ``MAMMO_*`` variables.

Hospital IT presets everything (server URL, CA certificate, model, data directory) in the site
file without touching the UI; a user's own file and the environment override it.

Files are TOML. Locations (Linux; platformdirs gives the Windows/macOS equivalents):
- site:  ``$XDG_CONFIG_DIRS/mammo-workstation/site.toml`` (``/etc/xdg/...``), or ``site.toml``
  next to a frozen program, or the file named by ``MAMMO_SITE_CONFIG``;
- user:  ``$XDG_CONFIG_HOME/mammo-workstation/settings.toml``, or ``MAMMO_CONFIG_FILE``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import SettingsError

APP_NAME = "mammo-workstation"
SETTINGS_SCHEMA_VERSION = 1
DEFAULT_MODEL_NAME = "densenet121-mil"
# A DICOM AE title (with max_length 16): no backslash or control character, not all spaces.
AE_TITLE_PATTERN = r"^[^\\\x00-\x1f]*[^\\\x00-\x1f ][^\\\x00-\x1f]*$"


def project_root() -> Path:
    """Folder holding ``models/`` and ``resources/``: the checkout, or a frozen bundle's root."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def bundled_model_dir() -> Path:
    return project_root() / "models" / DEFAULT_MODEL_NAME


def user_config_file() -> Path:
    explicit = os.environ.get("MAMMO_CONFIG_FILE")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "settings.toml"


def site_config_files() -> list[Path]:
    """Site files, lowest priority first."""
    explicit = os.environ.get("MAMMO_SITE_CONFIG")
    if explicit:
        return [Path(explicit)]
    files = [Path(platformdirs.site_config_dir(APP_NAME, appauthor=False)) / "site.toml"]
    if getattr(sys, "frozen", False):
        files.append(Path(sys.executable).resolve().parent / "site.toml")
    return files


class Settings(BaseSettings):
    """Everything the client can be configured with. Unknown keys are refused."""

    model_config = SettingsConfigDict(env_prefix="MAMMO_", extra="forbid", validate_default=True)

    schema_version: int = SETTINGS_SCHEMA_VERSION
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        description="Local store, logs and backups. One per user: never share it by accident.",
    )
    model_dir: Path | None = Field(
        default=None, description="Model folder with manifest.json; default: the bundled model."
    )
    engine: Literal["auto", "onnx", "tf"] = "auto"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    batch_size: int = Field(default=16, ge=1, le=256)
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    max_pixels: int = Field(default=120_000_000, ge=1, description="Decompression-bomb guard.")
    server_url: str | None = None
    ca_cert: Path | None = None
    offline_login_days: int = Field(default=7, ge=0)
    theme: Literal["dark", "light"] = "dark"
    blinded_first_read: bool = Field(
        default=False,
        description="Hide the model's score and heatmap of an exam until the reader has signed "
                    "a first assessment of each breast; the model's output is shown after.")
    # The hospital's PACS (docs/pacs.md). Without pacs_host nothing is queried or sent, and
    # results are saved to pacs_export_dir instead.
    pacs_host: str | None = None
    pacs_port: int = Field(default=104, ge=1, le=65535)
    pacs_called_ae: str = Field(default="PACS", max_length=16, pattern=AE_TITLE_PATTERN)
    pacs_calling_ae: str = Field(default="MAMMOWS", max_length=16,
                                 pattern=AE_TITLE_PATTERN)
    pacs_receive_port: int = Field(default=11112, ge=1, le=65535,
                                   description="Where the PACS sends C-MOVE results.")
    pacs_tls: bool = Field(default=False, description="DICOM over TLS, checked with ca_cert.")
    pacs_retrieve: Literal["move", "get"] = "move"
    pacs_auto_pull_minutes: int = Field(default=0, ge=0, le=24 * 60,
                                        description="Pull new MG studies this often; 0: never.")
    pacs_auto_send: bool = Field(
        default=False, description="Send results before the reader signs (IT's decision).")
    pacs_export_dir: Path | None = Field(
        default=None, description="Where results are written (and kept, without a PACS); "
                                  "default data_dir/pacs/results.")
    model_public_keys: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$")]] = Field(
        default_factory=list,
        description="Ed25519 public keys (base64) whose signed model versions this workstation "
                    "takes from the server (docs/model-rollout.md); empty: none.")

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else bundled_model_dir()

    @property
    def store_path(self) -> Path:
        return self.data_dir / "mammo.sqlite3"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [p for p in [*site_config_files(), user_config_file()] if p.is_file()]
        # Later files win: TomlConfigSettingsSource merges a list with the last one on top.
        toml = TomlConfigSettingsSource(settings_cls, toml_file=files) if files else None
        return tuple(s for s in (init_settings, env_settings, toml) if s is not None)


def load_settings(**overrides: object) -> Settings:
    """Build the settings; a bad file or variable becomes a :class:`SettingsError`."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"The settings cannot be used ({problems}).") from exc
    except (OSError, ValueError) as exc:
        raise SettingsError(f"A settings file could not be read: {exc}") from exc
    if settings.schema_version > SETTINGS_SCHEMA_VERSION:
        raise SettingsError(
            f"The settings file was written by a newer version (schema {settings.schema_version});"
            " update Mammo Workstation."
        )
    return settings
