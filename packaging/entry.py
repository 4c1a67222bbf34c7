"""The packaged program's entry point: the same ``main`` as the ``mammo-workstation`` command.

``app.main.main`` handles ``--self-test`` itself, before any QApplication is created, so the
packaged program checks itself without a display (see ``core/selftest.py``).
"""

import multiprocessing
import sys

from app.main import main

if __name__ == "__main__":
    # A frozen program must call this before anything else if any library starts a process.
    multiprocessing.freeze_support()
    sys.exit(main())
