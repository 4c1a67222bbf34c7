"""A workstation process that does nothing but keep readings, for the kill test.

    python -m tests.e2e.store_writer STORE USERNAME

Writes readings in batches of :data:`BATCH` (one transaction each, the way the reading
pipeline stores a batch of images) until it is killed, and prints each batch's ids on one line
once ``add_readings`` has returned, i.e. once the batch is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.store import Store
from tests.e2e.sync_support import make_readings

BATCH = 20


def main() -> None:
    path, username = Path(sys.argv[1]), sys.argv[2]
    store = Store.open(path)
    while True:
        ids = make_readings(store, username, BATCH)
        print(" ".join(ids), flush=True)


if __name__ == "__main__":
    main()
