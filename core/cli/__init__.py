"""The ``mammo`` command line (headless; the desktop app adds ``mammo app`` in app/cli.py)."""
