"""Writing the user's settings file (TOML) from the settings dialog. No Qt: runs on a worker.

Keys the dialog does not show are kept as they are; the file is replaced atomically so a
crash never leaves half a settings file behind.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from core.errors import ModelLoadError, SettingsError
from core.inference.manifest import load_manifest
from core.settings import SETTINGS_SCHEMA_VERSION, Settings

EDITABLE_KEYS = ("server_url", "ca_cert", "engine", "device", "data_dir", "model_dir",
                 "pacs_host", "pacs_port", "pacs_called_ae", "pacs_calling_ae",
                 "pacs_receive_port")


def write_user_settings(path: Path, changes: dict[str, str | int | None]) -> Path:
    """Merge ``changes`` (None or "" removes a key) into the TOML file at ``path``.

    Raises:
        SettingsError: a value the program would refuse, a missing CA certificate, or a file
            that cannot be read or written.
    """
    for key, value in changes.items():
        check_setting(key, value)
    try:
        current: dict[str, Any] = tomllib.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"The settings file {path} cannot be read; fix or delete it.") \
            from exc
    current.setdefault("schema_version", SETTINGS_SCHEMA_VERSION)
    for key, value in changes.items():
        if value is None or value == "":
            current.pop(key, None)
        else:
            current[key] = value
    text = "".join(f"{key} = {_toml_value(key, value)}\n" for key, value in current.items())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, "utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise SettingsError(f"The settings could not be saved to {path}: {exc.strerror}.") \
            from exc
    return path


def check_setting(key: str, value: str | int | None) -> None:
    """Refuse a value the program could not use; None or "" (back to the default) passes.

    A model folder is checked as loading it would be (manifest and every file's hash), which
    reads the whole model: seconds for a large one.

    Raises:
        SettingsError: what is wrong with the value and what to do, for the user.
    """
    if key not in EDITABLE_KEYS:
        raise SettingsError(f"'{key}' cannot be changed here.")
    if value is None or value == "":
        return
    if key == "server_url" and not value.startswith(("https://", "http://localhost")):
        raise SettingsError("The server URL must start with https:// (the connection is "
                            "encrypted).")
    if key == "ca_cert" and not Path(value).is_file():
        raise SettingsError(f"The CA certificate {value} does not exist.")
    if key == "model_dir":
        try:
            load_manifest(Path(value))
        except ModelLoadError as exc:
            raise SettingsError(exc.message) from exc
    try:
        TypeAdapter(Settings.model_fields[key].annotation).validate_python(value)
    except ValidationError as exc:
        raise SettingsError(f"'{value}' is not a valid {key.replace('_', ' ')}.") from exc


def _toml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise SettingsError(f"The settings file holds a value for '{key}' this dialog cannot keep; "
                        "edit the file by hand.")
