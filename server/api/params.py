"""Query and path parameters shared by the routes, with the limits of what they are compared
with. PostgreSQL refuses a NUL in any string (psycopg2 raises before the query is sent), so
text parameters refuse control characters here, as a 422, instead of failing as a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from core.contracts import NAME_CHARACTER

NO_CONTROL = r"^[^\x00-\x1f]+$"
NAME = rf"^{NAME_CHARACTER}+$"

FilterText = Annotated[str, Query(min_length=1, max_length=128, pattern=NO_CONTROL)]
"""A label, model id or audit action to filter on."""

FilterUser = Annotated[str, Query(min_length=1, max_length=64, pattern=NAME)]
"""A username to filter on."""

Cursor = Annotated[str, Query(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_-]+$")]
"""An opaque page cursor (URL-safe base64) handed out by this server."""

UsernamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME)]
"""A username in the URL."""
