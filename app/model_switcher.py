"""Switching to the model version the server approved, at the next idle moment.

Each sync pass may leave a verified version *ready* (:mod:`core.modelstore`). The switcher
waits until no batch runs, then loads the ready version and gives it to the reading service
on the inference pool, which runs one job at a time: a batch never changes model half-way,
and a batch queued meanwhile reads with the new one. Without a model in use the app was
built unscored, so the version is taken at the next start instead. A refused version (bad
signature, unknown key, changed file, unknown preprocessing, or one that does not load) is
announced once, with its reason; the model in use stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.worker import JobPools, Worker
from core.errors import ModelLoadError, ModelRefusalKind, ModelRefusedError
from core.inference.classifier import Classifier, ModelInfo
from core.modelstore import ModelRollout, RolloutReport
from core.reading import ReadingService
from core.settings import Settings

log = logging.getLogger(__name__)


class ModelSwitcher(QObject):
    """Emits ``switched`` (the new :class:`ModelInfo`) once ``service`` reads with the new
    version, ``waiting`` (text) while a ready version waits for the batch to end or for the
    next start, and ``refused`` (text) once per refused version."""

    switched = Signal(object)
    waiting = Signal(str)
    refused = Signal(str)

    def __init__(self, *, rollout: ModelRollout, settings: Settings,
                 service: ReadingService | None, pools: JobPools, is_idle: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rollout = rollout
        self._settings = settings
        self._service = service
        self._pools = pools
        self._is_idle = is_idle
        self._loading: Worker | None = None
        self._announced: set[str] = set()

    @Slot(object)
    def on_sync_finished(self, report: object) -> None:
        """After a sync pass: announce a refusal, or switch to a ready version when idle."""
        model: RolloutReport | None = getattr(report, "model", None)
        if model is None:
            return
        if model.status == "refused" and model.manifest_sha256 not in self._announced:
            self._announced.add(model.manifest_sha256 or "")
            self.refused.emit(f"The model {model.model_id} from the server was refused: "
                              f"{model.message}")
        elif model.status == "ready":
            self.switch_when_idle()

    @Slot()
    @Slot(object)
    def switch_when_idle(self, _finished: object = None) -> None:
        """Switch now if nothing is being read, else when the batch ends (call again then)."""
        folder = self._rollout.ready_folder()
        if folder is None or self._loading is not None:
            return
        if self._service is None:
            self.waiting.emit("A model version from the server is ready: restart the app to "
                              "read with it.")
            return
        if not self._is_idle():
            self.waiting.emit("A new model version is ready; it is used once this batch ends.")
            return
        settings, service = self._settings, self._service
        worker = Worker(lambda _cancel, _report: self._load(folder, settings, service),
                        name="new model")
        worker.signals.result.connect(self._on_loaded)
        worker.signals.error.connect(self._on_load_failed)
        worker.signals.finished.connect(self._on_load_finished)
        self._loading = worker
        self._pools.start(worker, pool=self._pools.inference)

    def _load(self, folder: Path, settings: Settings, service: ReadingService) -> ModelInfo:
        """On the inference pool: check the version again, start its engine, read with it
        from now on and record the switch (the previous version is kept for rollback)."""
        try:
            self._rollout.library.check(folder, expected_sha256=folder.name)
            classifier = Classifier.load(folder, engine=settings.engine, device=settings.device,
                                         batch_size=settings.batch_size)
        except ModelRefusedError as exc:
            self._rollout.refuse_ready(folder, exc)
            raise
        except ModelLoadError as exc:
            refusal = ModelRefusedError(exc.message, kind=ModelRefusalKind.LOAD_FAILED)
            self._rollout.refuse_ready(folder, refusal)
            raise refusal from exc
        service.use_classifier(classifier)
        self._rollout.switch_to_ready(folder)
        return classifier.info

    @Slot(object)
    def _on_loaded(self, info: ModelInfo) -> None:
        log.info("Now reading with model %s (%s)", info.model_id, info.model_sha256[:12])
        self.switched.emit(info)

    @Slot(object)
    def _on_load_failed(self, error: BaseException) -> None:
        message = getattr(error, "message", str(error))
        self.refused.emit(f"The new model version could not be used: {message} The model in "
                          "use stays.")

    @Slot()
    def _on_load_finished(self) -> None:
        self._loading = None
