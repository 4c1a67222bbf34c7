"""The headless path from image files to stored readings, shared by the CLI and the app.

open the file -> check it -> preprocess -> run the model (patches of several images batched)
-> store the image record and the reading with its provenance, committed at once.
A file that fails yields an outcome with its error; the other files go on.

An image is "already read" when the same reader has a stored reading of the same picture
(same pixel hash, whatever the file's name or folder). Asked to, the service hands that
reading back instead of scoring the image again, so that importing a folder twice neither
duplicates readings nor hides signed decisions behind new, undecided copies. When such an
image is scored anyway (a re-score), the new reading names the earlier one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core import __version__
from core.errors import ImageDecodeError, MammoError
from core.imaging import MammoImage, ensure_mammogram_shape, iter_image_paths, open_image
from core.inference.classifier import Classifier, Prediction
from core.store import NewReading, ReadingId, ReadingRecord, Store, UserId

IMAGES_PER_BATCH = 4  # 36 patches per engine call: batched, yet progress stays fine-grained


@dataclass(frozen=True)
class ReadOutcome:
    """One input file's result: either ``prediction`` (and ``reading`` when stored) or ``error``.

    ``already_read``: the image was not scored; ``reading`` is the reader's earlier reading
    of it (and ``prediction`` is None).
    """

    path: Path
    image: MammoImage | None = None
    prediction: Prediction | None = None
    reading: ReadingRecord | None = None
    error: MammoError | None = None
    already_read: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


Progress = Callable[[int, int], None]


class ReadingService:
    """Reads images with one classifier into one store, on behalf of one user."""

    def __init__(self, *, store: Store | None, classifier: Classifier, max_file_bytes: int,
                 max_pixels: int) -> None:
        self._store = store
        self._classifier = classifier
        self._max_file_bytes = max_file_bytes
        self._max_pixels = max_pixels

    @property
    def classifier(self) -> Classifier:
        """The model this service reads with (its heatmaps are made again for results)."""
        return self._classifier

    def use_classifier(self, classifier: Classifier) -> None:
        """Read with ``classifier`` from the next :meth:`read` on (a new model version from
        the server); a read already running finishes with the model it started with."""
        self._classifier = classifier

    def read(self, paths: Iterable[str | Path], *, user_id: UserId | None,
             cancel: threading.Event | None = None, progress: Progress | None = None,
             reuse_earlier: bool = False) -> Iterator[ReadOutcome]:
        """Yield one outcome per input file, in input order (folders walked recursively).

        With a store and a user, each reading is committed before its outcome is yielded, so a
        crash loses at most the batch in flight. A cancelled run stops between batches.

        With ``reuse_earlier``, an image this user already read is not scored again: its
        outcome carries the newest earlier reading (``already_read``). Without it every image
        is scored, and the reading of an image read before names the earlier one
        (``rescore_of``).
        """
        files = list(iter_image_paths(paths))
        classifier = self._classifier  # one model for the whole run, whatever happens meanwhile
        done = 0
        for start in range(0, len(files), IMAGES_PER_BATCH):
            if cancel is not None and cancel.is_set():
                return
            batch = files[start:start + IMAGES_PER_BATCH]
            yield from self._read_batch(batch, user_id=user_id, cancel=cancel,
                                        reuse_earlier=reuse_earlier, classifier=classifier)
            done += len(batch)
            if progress is not None:
                progress(done, len(files))

    def _read_batch(self, batch: list[Path], *, user_id: UserId | None,
                    cancel: threading.Event | None, reuse_earlier: bool,
                    classifier: Classifier) -> Iterator[ReadOutcome]:
        opened: list[tuple[Path, MammoImage | None, MammoError | None]] = []
        for path in batch:
            try:
                image = open_image(path, max_file_bytes=self._max_file_bytes,
                                   max_pixels=self._max_pixels)
                ensure_mammogram_shape(image)
                opened.append((path, image, None))
            except ImageDecodeError as exc:
                opened.append((path, None, exc))
        good = [img for _, img, _ in opened if img is not None]
        try:
            earlier = self._earlier_readings(good, user_id)
        except MammoError as exc:
            for path, img, err in opened:
                yield ReadOutcome(path=path, image=img, error=err or exc)
            return
        scored = [img for img in good
                  if not (reuse_earlier and img.meta.pixel_sha256 in earlier)]
        scheduled = {id(img) for img in scored}
        results = self._predict(scored, cancel, classifier) if scored else []
        if cancel is not None and cancel.is_set():
            return
        for path, img, err in opened:
            if img is None:
                yield ReadOutcome(path=path, error=err)
                continue
            picture = img.meta.pixel_sha256
            pred = results.pop(0) if id(img) in scheduled else None
            # Also true for a copy of a picture first read earlier in this very batch (its
            # prediction is dropped), so a folder holding one picture twice reads it once.
            if reuse_earlier and picture in earlier:
                yield ReadOutcome(path=path, image=img, reading=earlier[picture],
                                  already_read=True)
                continue
            if isinstance(pred, MammoError):
                yield ReadOutcome(path=path, image=img, error=pred)
                continue
            assert pred is not None
            before = earlier.get(picture)
            try:
                reading = self._store_reading(img, pred, user_id, classifier=classifier,
                                              rescore_of=None if before is None else before.id)
            except MammoError as exc:
                yield ReadOutcome(path=path, image=img, prediction=pred, error=exc)
                continue
            if reading is not None:
                earlier[picture] = reading
            yield ReadOutcome(path=path, image=img, prediction=pred, reading=reading)

    def _earlier_readings(self, images: list[MammoImage], user_id: UserId | None
                          ) -> dict[str, ReadingRecord]:
        if self._store is None or user_id is None or not images:
            return {}
        return self._store.latest_readings_of([i.meta.pixel_sha256 for i in images],
                                              user_id=user_id)

    def _predict(self, images: list[MammoImage], cancel: threading.Event | None,
                 classifier: Classifier) -> list[Prediction | MammoError]:
        """Predictions in order; when the batch fails, each image alone, so one bad image
        does not take the others down with it."""
        try:
            return list(classifier.predict([i.pixels for i in images], cancel=cancel))
        except MammoError as exc:
            if len(images) == 1:
                return [exc]
        out: list[Prediction | MammoError] = []
        for img in images:
            try:
                out.extend(classifier.predict([img.pixels], cancel=cancel))
            except MammoError as exc:
                out.append(exc)
        return out

    def _store_reading(self, img: MammoImage, pred: Prediction, user_id: UserId | None, *,
                       classifier: Classifier, rescore_of: ReadingId | None
                       ) -> ReadingRecord | None:
        if self._store is None or user_id is None:
            return None
        info = classifier.info
        image_id = self._store.add_image(img.meta)
        return self._store.add_reading(NewReading(
            image_id=image_id, user_id=user_id, score=pred.score, label=pred.label,  # type: ignore[arg-type]
            threshold=pred.threshold, model_id=info.model_id, model_sha256=info.model_sha256,
            engine=info.engine, device=info.device,
            preprocessing_version=info.preprocessing_version, app_version=__version__,
            heatmap_peak_x=pred.heatmap_peak[0], heatmap_peak_y=pred.heatmap_peak[1],
            rescore_of=rescore_of))
