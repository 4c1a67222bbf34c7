"""``--self-test``: prove that an installed workstation can read mammograms, without a display.

Hospital IT runs it after a (silent) install, and CI runs it on every packaged build. It checks,
in order: the settings parse, the data directory is writable, a scratch local store can be
created and migrated (the migrations travel as files in a packaged build), the model loads and
every file matches its manifest's hash, the DICOM decoder plugins are present, and the bundled
sample mammogram gets the score recorded when the build was made (same model, same
preprocessing, same engine maths, within :data:`SCORE_TOLERANCE`). It prints the versions IT
asks for and exits 0, or names every check that failed and exits 1.

No Qt here: the app's composition root calls :func:`run_self_test` before any QApplication
exists and passes in the Qt versions it has imported.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import MammoError
from core.settings import (
    Settings,
    load_settings,
    project_root,
    site_config_files,
    user_config_file,
)

log = logging.getLogger(__name__)

SAMPLE_IMAGE = "rsna-105-benign.jpg"
EXPECTED_NAME = "expected.json"
SCORE_TOLERANCE = 1e-4
# Transfer syntaxes a PACS export commonly uses; each needs one of the pylibjpeg plugins.
DICOM_SYNTAXES = (
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.5",  # RLE Lossless
)

Out = Callable[[str], object]


class CheckFailed(Exception):
    """A self-test check found a problem; the message says what to do about it."""


class CheckSkipped(Exception):
    """A check that cannot run because an earlier one failed (that one is the problem)."""


@dataclass
class _Context:
    settings: Settings | None = None
    classifier: Any = None  # core.inference.classifier.Classifier once loaded
    notes: list[str] = field(default_factory=list)


def sample_dir() -> Path:
    """Where the sample mammogram and its recorded score live (inside a packaged build too)."""
    return project_root() / "resources" / "sample"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def run_self_test(
    settings: Settings | None = None,
    *,
    out: Out = print,
    samples: Path | None = None,
    require_recorded_score: bool | None = None,
    versions: Mapping[str, str] | None = None,
) -> int:
    """Run every check, print one line per check and a verdict; return the exit status.

    Parameters:
        settings: the settings to check; None loads them here, so that a bad site or user file
            is reported as a failed check instead of an exception.
        out: where the report lines go (``print`` for the command line).
        samples: folder holding :data:`SAMPLE_IMAGE` and :data:`EXPECTED_NAME`; default
            :func:`sample_dir`.
        require_recorded_score: whether a missing ``expected.json`` fails the test. Default:
            only in a packaged build, which always carries one; a checkout has none.
        versions: more ``name -> version`` lines to print (the app passes Qt's).

    Returns:
        0 when every check passed, 1 otherwise.
    """
    samples = sample_dir() if samples is None else samples
    if require_recorded_score is None:
        require_recorded_score = is_frozen()
    ctx = _Context(settings=settings)
    checks: Sequence[tuple[str, Callable[[_Context], str]]] = (
        ("settings", _check_settings),
        ("data dir", _check_data_dir),
        ("local store", _check_store),
        ("model", _check_model),
        ("DICOM", _check_dicom_decoders),
        ("PACS", _check_pacs),
        ("sample", lambda c: _check_sample(c, samples, require=require_recorded_score)),
    )
    out(f"Mammo Workstation {__version__} self-test ({'packaged' if is_frozen() else 'source'}"
        f", Python {sys.version.split()[0]}, {sys.platform})")
    failed: list[str] = []
    for name, check in checks:
        started = time.perf_counter()
        try:
            detail = check(ctx)
            status = "ok  "
        except CheckSkipped as exc:
            detail, status = str(exc), "skip"
        except (CheckFailed, MammoError) as exc:
            detail, status = str(exc), "FAIL"
            failed.append(name)
            if exc.__cause__ is not None:  # the technical detail, for IT, on stderr
                log.warning("self-test: %s failed", name, exc_info=exc)
        except Exception as exc:  # a check must never crash the report: say what broke
            detail, status = f"unexpected {type(exc).__name__}: {exc}", "FAIL"
            failed.append(name)
            log.error("self-test: %s failed unexpectedly", name, exc_info=exc)
        out(f"  {status} {name:<13} {detail} [{time.perf_counter() - started:.2f} s]")
    for name, version in _versions(ctx, versions or {}).items():
        out(f"       {name:<13} {version}")
    for note in ctx.notes:
        out(f"  note: {note}")
    if failed:
        out(f"Self-test FAILED: {', '.join(failed)}.")
        return 1
    out("Self-test passed.")
    return 0


def _check_settings(ctx: _Context) -> str:
    if ctx.settings is None:
        ctx.settings = load_settings()  # SettingsError names the key and the problem
    files = [str(p) for p in [*site_config_files(), user_config_file()] if p.is_file()]
    s = ctx.settings
    if s.ca_cert is not None and not s.ca_cert.is_file():
        raise CheckFailed(f"ca_cert names {s.ca_cert}, which is not a file: the server's "
                          "certificate could not be checked; fix the site configuration")
    used = ", ".join(files) if files else "defaults only (no site or user file)"
    return (f"from {used}; engine={s.engine}, device={s.device}, "
            f"server_url={s.server_url or '-'}, offline_login_days={s.offline_login_days}")


def _settings(ctx: _Context) -> Settings:
    if ctx.settings is None:
        raise CheckSkipped("the settings could not be read")
    return ctx.settings


def _check_data_dir(ctx: _Context) -> str:
    folder = _settings(ctx).data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".self-test-") as fh:
            fh.write(b"mammo self-test\n")
            fh.flush()
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise CheckFailed(f"the data directory {folder} cannot be written ({exc.strerror or exc}"
                          "); set data_dir to a folder this user may write") from exc
    return f"{folder} is writable ({free / 1e9:.1f} GB free)"


def _check_store(ctx: _Context) -> str:
    from core.store import Store

    yours = _settings(ctx).store_path
    # A scratch store: the user's own store is neither created nor migrated by a self-test.
    with tempfile.TemporaryDirectory(prefix="mammo-self-test-") as scratch:
        store = Store.open(Path(scratch) / "mammo.sqlite3")
        store.close()
    return f"a new store can be created and migrated (yours: {yours})"


def _check_model(ctx: _Context) -> str:
    from core.inference.classifier import Classifier

    s = _settings(ctx)
    # Classifier.load checks every file's SHA-256 against the manifest before any use.
    ctx.classifier = Classifier.load(s.resolved_model_dir, engine=s.engine, device=s.device,
                                     batch_size=s.batch_size)
    info = ctx.classifier.info
    manifest = ctx.classifier.manifest
    roles = [e["role"] for e in manifest.data["files"]]
    present = [r for r in roles if manifest.has_file(r)]
    absent = "".join(f"; no {r} file installed (optional)" for r in roles if r not in present)
    return (f"{info.model_id} from {info.folder}: {len(present)} files match the manifest"
            f"{absent} "
            f"(sha256 {info.model_sha256[:12]}); engine {info.engine} on {info.device}")


def _check_dicom_decoders(ctx: _Context) -> str:
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    # pylibjpeg finds its plugins through package metadata (entry points), which a packaged
    # build drops unless told to keep it: then pydicom calls a decoder "available" that has
    # no plugin behind it. Ask pylibjpeg itself.
    try:
        from pylibjpeg.utils import get_pixel_data_decoders

        plugins = get_pixel_data_decoders(version=2)
    except ImportError:
        plugins = {}
    missing = [UID(uid).name for uid in DICOM_SYNTAXES
               if uid not in plugins or not get_decoder(UID(uid)).is_available]
    if missing:
        raise CheckFailed(f"no decoder for {', '.join(missing)}; compressed DICOM files will "
                          "not open (a pylibjpeg plugin is missing from the installation)")
    names = sorted({name for uid in DICOM_SYNTAXES for name in plugins[uid]})
    return f"pylibjpeg plugins {', '.join(names)} for {len(DICOM_SYNTAXES)} compressed syntaxes"


def _check_pacs(ctx: _Context) -> str:
    from core.pacs.selfcheck import check_pacs_support

    return check_pacs_support(ctx.settings)


def _check_sample(ctx: _Context, samples: Path, *, require: bool) -> str:
    if ctx.classifier is None:
        raise CheckSkipped("no model to score the sample with")
    s = _settings(ctx)
    score = score_sample(ctx.classifier, samples / SAMPLE_IMAGE, max_file_bytes=s.max_file_bytes,
                         max_pixels=s.max_pixels)
    expected_path = samples / EXPECTED_NAME
    if not expected_path.is_file():
        if require:
            raise CheckFailed(f"the recorded score {expected_path} is missing from this build")
        ctx.notes.append("no recorded sample score (not a packaged build): score not compared")
        return f"scored {score:.6f}"
    try:
        expected = json.loads(expected_path.read_text())
        recorded, recorded_sha = float(expected["score"]), str(expected["model_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckFailed(f"the recorded score {expected_path} cannot be read") from exc
    info = ctx.classifier.info
    if recorded_sha != info.model_sha256:
        if s.model_dir is None:
            raise CheckFailed(
                f"the bundled model (sha256 {info.model_sha256[:12]}) is not the one this build "
                f"recorded ({recorded_sha[:12]}); reinstall the workstation")
        ctx.notes.append(f"model_dir chooses another model than the bundled one: the sample "
                         f"scored {score:.6f}, the recorded score is for {recorded_sha[:12]}")
        return f"scored {score:.6f} (not compared: another model)"
    diff = abs(score - recorded)
    if diff > SCORE_TOLERANCE:
        raise CheckFailed(f"scored {score:.6f}, but this build recorded {recorded:.6f} (off by "
                          f"{diff:.2g} > {SCORE_TOLERANCE:g}); the model does not compute what "
                          "it computed when the build was made: do not use this installation")
    return f"scored {score:.6f} = recorded {recorded:.6f} (off by {diff:.1g})"


def score_sample(classifier: Any, image: Path, *, max_file_bytes: int, max_pixels: int
                 ) -> float:
    """The sample's calibrated score, read exactly as the app reads any file."""
    from core.imaging import open_image

    if not image.is_file():
        raise CheckFailed(f"the sample mammogram {image} is missing from this installation")
    pixels = open_image(image, max_file_bytes=max_file_bytes, max_pixels=max_pixels).pixels
    return float(classifier.predict([pixels])[0].score)


def record_expected(*, model_dir: Path, out_file: Path, samples: Path | None = None
                    ) -> dict[str, Any]:
    """Score the sample with ``model_dir`` on the CPU (ONNX engine) and write ``out_file``.

    The build calls this with the model it is about to bundle, so the packaged self-test can
    prove that the installed program still computes the same score. The builder's own settings
    files play no part: the file limits are the defaults.
    """
    from core.inference.classifier import Classifier

    samples = sample_dir() if samples is None else samples
    limits = {name: Settings.model_fields[name].default
              for name in ("max_file_bytes", "max_pixels")}
    classifier = Classifier.load(model_dir, engine="onnx", device="cpu")
    record = {
        "image": SAMPLE_IMAGE,
        "model_id": classifier.info.model_id,
        "model_sha256": classifier.info.model_sha256,
        "score": score_sample(classifier, samples / SAMPLE_IMAGE, **limits),
        "engine": f"{classifier.info.engine} on {classifier.info.device}",
        "onnxruntime": _version_of("onnxruntime"),
        "app_version": __version__,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _versions(ctx: _Context, extra: Mapping[str, str]) -> dict[str, str]:
    found = {"app": __version__}
    if ctx.classifier is not None:
        info = ctx.classifier.info
        found |= {"model id": info.model_id, "model sha256": info.model_sha256,
                  "engine": info.engine, "device": info.device}
    found["onnxruntime"] = _version_of("onnxruntime")
    ort = sys.modules.get("onnxruntime")
    if ort is not None:
        found["ORT providers"] = ", ".join(ort.get_available_providers())
    return found | dict(extra)


def _version_of(module: str) -> str:
    """A loaded module's version without importing it; else the installed distribution's."""
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__version__", None):
        return str(loaded.__version__)
    try:
        return importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.selftest [--record FILE --model DIR]``: the checks without Qt, or
    (for the build) record the sample's score with the model about to be bundled."""
    parser = argparse.ArgumentParser(prog="python -m core.selftest")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="write the sample's score with --model to FILE and exit")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model folder for --record")
    args = parser.parse_args(argv)
    if args.record is None:
        return run_self_test()
    if args.model is None:
        parser.error("--record needs --model")
    try:
        record = record_expected(model_dir=args.model, out_file=args.record)
    except (MammoError, CheckFailed) as exc:
        sys.stderr.write(f"cannot record the sample score: {exc}\n")
        return 1
    sys.stdout.write(f"recorded sample score {record['score']:.6f} for model "
                     f"{record['model_id']} ({record['model_sha256'][:12]}) in {args.record}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
