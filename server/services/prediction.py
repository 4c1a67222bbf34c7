"""Server-side inference through a predictor the composition root injects."""

from __future__ import annotations

from collections.abc import Callable

from core.contracts import PredictionPublic
from server.errors import InvalidInput

Predictor = Callable[[bytes], PredictionPublic]
"""Takes the uploaded file's bytes and returns a prediction. Raises ``ValueError`` when the
bytes are not an image it can read; the message is shown to the caller."""


def predict(predictor: Predictor, payload: bytes) -> PredictionPublic:
    if not payload:
        raise InvalidInput("The upload is empty.")
    try:
        return predictor(payload)
    except ValueError as exc:
        raise InvalidInput(f"The image could not be read: {exc}") from exc
