"""Mammo Workstation domain layer: imaging, inference, local store, sync client, settings.

Nothing here imports Qt, the app or the server, and nothing heavy runs at import time.
"""

__version__ = "0.1.0"
