"""The status bar's sync indicator: online or not, what waits to be sent, what went wrong.

It only shows what it is given (a :class:`core.sync.SyncStatus`, or that a pass is running
or failed unexpectedly) and offers three actions, "Sync now", "Review conflicts…" and,
while the server login has expired, "Log in again…"; the window connects them. Sync
problems live here, never in a dialog: the full message is in the tooltip.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from core.errors import MammoError, SyncErrorKind

if TYPE_CHECKING:
    from core.sync import SyncStatus

LOG_IN_AGAIN = "log in again"
OK_COLOR = "#7bd88f"
WARNING_COLOR = "#ffb454"
ERROR_COLOR = "#ff6b6b"
UNKNOWN_COLOR = "#8a8d93"
SYNC_NOW_SHORTCUT = "Ctrl+Shift+S"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%d %b %H:%M")


def _state(status: SyncStatus) -> tuple[str, str]:
    """The headline and its dot's colour."""
    kind = status.last_error_kind if status.last_error else None
    if kind == SyncErrorKind.AUTH:
        return f"Sync paused: {LOG_IN_AGAIN}", ERROR_COLOR
    if status.online is None:
        return "Not synced yet", UNKNOWN_COLOR
    if kind == SyncErrorKind.SERVER:
        return "Offline (server problem)", WARNING_COLOR
    if not status.online:
        return "Offline", WARNING_COLOR
    if kind is not None:
        return "Online, last sync failed", WARNING_COLOR
    return "Online", OK_COLOR


def needs_login(status: SyncStatus) -> bool:
    """Whether the last sync was refused because the server login expired or was revoked."""
    return bool(status.last_error) and status.last_error_kind == SyncErrorKind.AUTH


def status_text(status: SyncStatus) -> str:
    """One line: "Offline · 3 pending · 1 conflict · last sync 10:42"."""
    headline, _ = _state(status)
    parts = [headline]
    parts.append(f"{status.pending} pending" if status.pending else "all sent")
    if status.conflicts:
        parts.append(f"{status.conflicts} conflict{'s' if status.conflicts != 1 else ''}")
    parts.append(f"last sync {_when(status.last_success_at)}")
    return " · ".join(parts)


def status_tooltip(status: SyncStatus) -> str:
    """The detail: server, account, the last error in full, when the next try is."""
    lines = [f"Server: {status.server_url or 'none configured'}"]
    if status.username:
        lines.append(f"Account: {status.username}")
    lines.append(f"Waiting to be sent: {status.pending}")
    if status.pending_other_users:
        lines.append(f"Other users' changes waiting for their login: "
                     f"{status.pending_other_users}")
    if status.held_back_error:
        lines.append(f"Held back by the server: {status.held_back_error}")
    if status.conflicts:
        lines.append(f"Conflicts to review: {status.conflicts} (both versions are kept)")
    lines.append(f"Last successful sync: {_when(status.last_success_at)}")
    if status.last_error:
        kind = f" ({status.last_error_kind})" if status.last_error_kind else ""
        lines.append(f"Last error{kind}: {status.last_error}")
    if status.next_attempt_at is not None:
        lines.append(f"Next automatic try: {_when(status.next_attempt_at)}")
    return "\n".join(lines)


class SyncIndicator(QWidget):
    """A coloured dot, one line of state, "Sync now", (with conflicts) "Review conflicts…"
    and (after an auth error, when ``can_log_in``) "Log in again…".

    ``sync_now_action``, ``review_action`` and ``log_in_action`` are QActions so that the
    window's Sync menu shows the same actions with their shortcut.
    """

    def __init__(self, *, can_log_in: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._can_log_in = can_log_in
        self.sync_now_action = QAction("Sync &now", self)
        self.sync_now_action.setShortcut(QKeySequence(SYNC_NOW_SHORTCUT))
        self.sync_now_action.setToolTip("Send waiting readings and decisions now "
                                        f"({SYNC_NOW_SHORTCUT})")
        self.review_action = QAction("Review &conflicts…", self)
        self.review_action.setEnabled(False)
        self.log_in_action = QAction("&Log in again…", self)
        self.log_in_action.setToolTip("Log in to the server again to resume sync; nothing "
                                      "waiting to be sent is lost")
        self.log_in_action.setVisible(False)
        self.dot = QLabel("●")
        self.label = QLabel("Sync: starting…")
        self.sync_button = QToolButton()
        self.sync_button.setDefaultAction(self.sync_now_action)
        self.review_button = QToolButton()
        self.review_button.setDefaultAction(self.review_action)
        self.review_button.setVisible(False)
        self.log_in_button = QToolButton()
        self.log_in_button.setDefaultAction(self.log_in_action)
        self.log_in_button.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        layout.addWidget(self.sync_button)
        layout.addWidget(self.review_button)
        layout.addWidget(self.log_in_button)
        self._set_dot(UNKNOWN_COLOR)

    def show_status(self, status: SyncStatus) -> None:
        _, color = _state(status)
        self._set_dot(color)
        self.label.setText(status_text(status))
        self._set_tooltip(status_tooltip(status))
        self.sync_now_action.setEnabled(True)
        self.review_action.setEnabled(status.conflicts > 0)
        self.review_button.setVisible(status.conflicts > 0)
        self._update_log_in(needs_login(status))

    def show_running(self) -> None:
        self.label.setText("Syncing…")
        self.sync_now_action.setEnabled(False)
        self._update_log_in(False)  # the pass's status says whether it is still needed

    def show_failure(self, error: BaseException) -> None:
        """A failure that is not a recorded sync error (a defect; the log has the traceback)."""
        self._set_dot(ERROR_COLOR)
        self.label.setText("Sync failed: see the log")
        detail = error.message if isinstance(error, MammoError) else repr(error)
        self._set_tooltip(f"The last sync failed unexpectedly: {detail}\n"
                          "Readings stay on this workstation; nothing is lost.")
        self.sync_now_action.setEnabled(True)

    def _update_log_in(self, needed: bool) -> None:
        # A QToolButton with a default action follows the action's enabled state, not its
        # visibility: hide both so that the button and the Sync menu entry agree.
        shown = needed and self._can_log_in
        self.log_in_action.setVisible(shown)
        self.log_in_button.setVisible(shown)

    def _set_dot(self, color: str) -> None:
        self.dot.setStyleSheet(f"QLabel {{ color: {color}; }}")

    def _set_tooltip(self, text: str) -> None:
        for widget in (self, self.dot, self.label):
            widget.setToolTip(text)
