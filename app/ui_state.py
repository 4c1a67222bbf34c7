"""What the workstation remembers between starts that is not a setting: the last user name.

A small JSON file in the data folder, next to the store whose accounts it names. Never a
password. Losing it costs only some typing, so a file that cannot be read or written is
logged and otherwise ignored. No Qt.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

STATE_FILE_NAME = "ui-state.json"


def state_file(data_dir: Path) -> Path:
    return data_dir / STATE_FILE_NAME


def last_username(path: Path) -> str | None:
    """The user name that last logged in here, or None."""
    try:
        state = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("The remembered user name in %s cannot be read: %s", path, exc)
        return None
    name = state.get("last_username") if isinstance(state, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def remember_username(path: Path, username: str) -> None:
    """Keep ``username`` for the next login (the file is replaced atomically)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps({"last_username": username}), "utf-8")
        os.replace(partial, path)
    except OSError as exc:
        log.warning("The user name could not be remembered in %s: %s", path, exc)
