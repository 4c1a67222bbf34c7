"""The counts of one import batch: its progress and the summary shown when it ends (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass

from app.jobs import FileDone


@dataclass
class BatchTally:
    """What one batch has done so far. A new batch starts a new tally, so its summary never
    counts the files (or the errors) of the batches before it."""

    planned: int = 0
    done: int = 0
    errors: int = 0
    already_read: int = 0

    def count(self, item: FileDone) -> None:
        self.done += 1
        if item.error is not None:
            self.errors += 1
        elif item.already_read:
            self.already_read += 1

    def summary(self, *, cancelled: bool) -> str:
        """E.g. "Finished: 12 images read, 3 read before (their readings are shown;
        Re-score from the worklist's menu), 1 with errors."."""
        parts = [f"{'Cancelled after' if cancelled else 'Finished:'} {self.done} images read"]
        if self.already_read:
            parts.append(f"{self.already_read} read before (their readings are shown; "
                         "Re-score from the worklist's menu)")
        if self.errors:
            parts.append(f"{self.errors} with errors")
        return ", ".join(parts) + "."
