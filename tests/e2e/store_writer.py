"""A workstation process that does nothing but keep readings, for the kill test.

    python -m tests.e2e.store_writer STORE USERNAME [COUNT]

Writes readings in batches of :data:`BATCH` (one transaction each, the way the reading
pipeline stores a batch of images) until it is killed, or until COUNT are written, and prints
each batch's ids on one line once ``add_readings`` has returned, i.e. once it is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.store import Store
from tests.e2e.sync_support import make_readings

BATCH = 20


def main() -> None:
    path, username = Path(sys.argv[1]), sys.argv[2]
    left = int(sys.argv[3]) if len(sys.argv) > 3 else -1
    store = Store.open(path)
    while left != 0:
        count = BATCH if left < 0 else min(BATCH, left)
        ids = make_readings(store, username, count)
        print(" ".join(ids), flush=True)
        left = -1 if left < 0 else left - count
    store.close()


if __name__ == "__main__":
    main()
