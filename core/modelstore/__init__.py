"""Signed model versions from the central server: the workstation's library of versions
(:class:`ModelLibrary`), their roll-out on sync (:class:`ModelRollout`), and which model
folder a program loads (:func:`model_folder`). No Qt; see docs/model-rollout.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.modelstore.library import LibraryState, ModelLibrary
from core.modelstore.rollout import ModelRollout, ModelServer, RolloutReport

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "LibraryState",
    "ModelLibrary",
    "ModelRollout",
    "ModelServer",
    "RolloutReport",
    "library_for",
    "model_folder",
]


def library_for(settings: Settings) -> ModelLibrary | None:
    """The workstation's model library; None when no signing key is trusted
    (``model_public_keys`` empty): then nothing is fetched from the server."""
    if not settings.model_public_keys:
        return None
    return ModelLibrary(settings.data_dir / "models", trusted_keys=settings.model_public_keys)


def model_folder(settings: Settings) -> Path:
    """The model folder to load: the newest verified version from the server (switching to
    one that waited for an idle moment; starting is one), else ``settings``' own."""
    library = library_for(settings)
    if library is not None:
        folder = library.usable_folder()
        if folder is not None:
            return folder
    return settings.resolved_model_dir
