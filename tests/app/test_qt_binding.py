"""The Qt binding itself: a fault in it takes the whole workstation down, whatever the input."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    changed = Signal(object)


def test_emitting_a_signal_leaves_pythons_true_alone(qapp) -> None:
    """PySide6 6.12.0 drops a reference to ``True`` on every emit. On Python 3.11 ``True`` is
    an ordinary object, so after a few thousand emits (a folder of a few thousand files) the
    interpreter aborts with "bool_dealloc". pyproject.toml keeps PySide6 below 6.12."""
    emitter = _Emitter()
    emitter.changed.emit(1)  # whatever the first emit caches is not a fault
    before = sys.getrefcount(True)

    for _ in range(200):
        emitter.changed.emit(1)

    assert sys.getrefcount(True) >= before  # 6.12.0: 200 fewer
