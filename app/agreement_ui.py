"""Fetches the department's reader-model agreement from the server for the Statistics tab,
on the io pool, whenever the tab is shown or refreshed; problems are said in the tab."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Slot

from app.agreement_view import AgreementView
from app.charts import render_agreement_chart
from app.worker import JobPools, Worker
from core.contracts import AgreementPublic


class AgreementSource(Protocol):
    def agreement(self) -> AgreementPublic: ...


class AgreementUi(QObject):
    """Feeds ``view`` from ``source`` (the sync service)."""

    def __init__(self, view: AgreementView, *, source: AgreementSource, pools: JobPools,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._view = view
        self._source = source
        self._pools = pools
        self._job: Worker | None = None

    @Slot()
    def refresh(self) -> None:
        if self._job is not None:
            return
        source = self._source

        def job(_cancel: object, _report: object) -> tuple:
            agreement = source.agreement()
            return agreement, render_agreement_chart(agreement)

        worker = Worker(job, name="agreement")
        worker.signals.result.connect(self._on_loaded)
        worker.signals.error.connect(self._on_failed)
        worker.signals.finished.connect(self._on_finished)
        self._job = worker
        self._pools.start(worker, pool=self._pools.io)

    @Slot(object)
    def _on_loaded(self, loaded: tuple) -> None:
        self._view.show_agreement(*loaded)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        message = getattr(error, "message", None) or "The server could not be asked."
        self._view.show_unavailable(f"Agreement figures unavailable: {message}")

    @Slot()
    def _on_finished(self) -> None:
        self._job = None
