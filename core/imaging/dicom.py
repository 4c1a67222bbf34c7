"""DICOM decoding with pydicom: a 2-D mammogram only, modality LUT, VOI LUT, MONOCHROME1
inversion.

The model reads single 2-D mammograms. A CT slice, a tomosynthesis stack, an ultrasound or a
colour picture decodes into pixels just as well, and would get a score that means nothing, so
each is refused by name before its pixels are read (clinical safety: no score is better than a
meaningless one).

The order matters clinically: the modality transform turns stored values into meaningful
units, the VOI transform chooses the window the modality intended for reading, and only then is
a MONOCHROME1 image (where high values are dark) turned so that 0 is black. Each step uses
pydicom's own helpers so that its handling of LUT descriptors and window functions is reused.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import (
    apply_modality_lut,
    apply_voi_lut,
    get_decoder,
    pixel_array,
)
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from core.errors import ImageDecodeError
from core.imaging.image import (
    ImageMeta,
    IntensityScale,
    MammoImage,
    check_pixel_count,
    pixel_sha256,
)
from core.imaging.views import view_from_code

_GREY = frozenset({"MONOCHROME1", "MONOCHROME2"})
# Mammography, and the general X-ray modalities older mammography systems stored it under.
_MAMMO_MODALITIES = frozenset({"MG", "DX", "CR"})
_MODALITY_NAMES = {
    "CT": "a CT image", "MR": "an MR image", "US": "an ultrasound image",
    "PT": "a PET image", "NM": "a nuclear medicine image", "OT": "an 'other' (OT) image",
    "XA": "an angiography image", "RF": "a fluoroscopy image",
}
_MAMMO_SOP_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage (digitised film)
})
_ONLY_MAMMOGRAMS = "only single 2-D mammograms can be read"


def decode_dicom(
    data: bytes, *, source_path: str, max_pixels: int, has_preamble: bool
) -> MammoImage:
    """Decode the first frame of a DICOM file held in memory into a :class:`MammoImage`.

    ``has_preamble`` is false for files recognised only by their name (no ``DICM`` marker):
    they are read with ``force=True`` and must then look like an image dataset.

    Raises
    ------
    ImageDecodeError
        Not DICOM, no pixel data, too many pixels, an unsupported transfer syntax or
        photometric interpretation, or pixel data that cannot be decoded.
    """
    ds = _read_dataset(data, source_path=source_path, has_preamble=has_preamble)
    if "PixelData" not in ds and "Rows" not in ds and "PhotometricInterpretation" not in ds:
        # pydicom stops quietly where a file ends: a cut-off file reads as a data set that
        # never gets to its image, as does a DICOM object that has none (a report).
        raise ImageDecodeError(
            source_path, "the DICOM file holds no image (it is incomplete or damaged, or not "
            "an image object)"
        )
    _ensure_mammogram(ds, source_path)
    if "PixelData" not in ds:
        raise ImageDecodeError(source_path, "DICOM file has no pixel data")
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ImageDecodeError(source_path, "DICOM file does not state its image size") from exc
    check_pixel_count(source_path, width=columns, height=rows, max_pixels=max_pixels)
    _ensure_decodable(ds, source_path)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    try:
        stored = pixel_array(ds, index=0)
    except MemoryError:
        raise
    except Exception as exc:  # every decoder plugin raises its own types
        raise ImageDecodeError(
            source_path, "the file is incomplete or damaged (DICOM pixel data cannot be decoded)"
        ) from exc
    bits_stored = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    pixels, intensity = _grey_display(stored, ds, source_path)
    meta = ImageMeta(
        source_path=source_path,
        pixel_sha256=pixel_sha256(stored),
        width=columns,
        height=rows,
        bit_depth=bits_stored,
        file_format="DICOM",
        laterality=_text(ds, "ImageLaterality") or _text(ds, "Laterality"),
        view_position=_text(ds, "ViewPosition") or _coded_view(ds),
        photometric=photometric,
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        birth_date=_date(ds, "PatientBirthDate"),
        study_date=_date(ds, "StudyDate"),
        accession_number=_text(ds, "AccessionNumber"),
        manufacturer=_text(ds, "Manufacturer"),
    )
    return MammoImage(pixels=pixels, meta=meta, intensity=intensity)


def _read_dataset(data: bytes, *, source_path: str, has_preamble: bool) -> Dataset:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=not has_preamble)
    except InvalidDicomError as exc:
        raise ImageDecodeError(source_path, "not a supported image format") from exc
    except Exception as exc:  # pydicom raises many types for a damaged stream
        reason = (
            "the file is incomplete or damaged (DICOM)"
            if has_preamble
            else "not a supported image format"
        )
        raise ImageDecodeError(source_path, reason) from exc
    if not has_preamble and not ({"SOPClassUID", "PixelData", "Rows"} & set(ds.dir())):
        # force=True accepts almost any bytes; without these it is not an image dataset.
        raise ImageDecodeError(source_path, "not a supported image format")
    return ds


def _ensure_mammogram(ds: Dataset, source_path: str) -> None:
    """Refuse, with the reason, what is not a single greyscale 2-D mammogram.

    A dataset that does not say what it is (no Modality, no SOP class: old exports) is given
    the benefit of the doubt; one that says it is something else is not.
    """
    modality = _text(ds, "Modality")
    if modality is not None and modality.upper() not in _MAMMO_MODALITIES:
        what = _MODALITY_NAMES.get(modality.upper(), f"a {modality} image")
        raise ImageDecodeError(
            source_path, f"this is {what} (modality {modality}), not a mammogram; "
            f"{_ONLY_MAMMOGRAMS}"
        )
    sop_class = UID(_text(ds, "SOPClassUID") or "")
    intent = str(ds.get("PresentationIntentType", "")).strip().upper()
    if intent == "FOR PROCESSING" or sop_class.name.endswith("For Processing"):
        raise ImageDecodeError(
            source_path, "this is a raw 'for processing' image, not one processed for reading; "
            "open the 'for presentation' image"
        )
    if sop_class and sop_class not in _MAMMO_SOP_CLASSES and sop_class.name != sop_class:
        # A standard class we know is not a mammogram; a private one gets no verdict.
        raise ImageDecodeError(
            source_path, f"this is a {sop_class.name} object, not a 2-D mammogram; "
            f"{_ONLY_MAMMOGRAMS}"
        )
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError) as exc:
        raise ImageDecodeError(source_path, "DICOM file does not state its number of frames") \
            from exc
    if frames > 1:
        raise ImageDecodeError(
            source_path, f"it holds {frames} frames (a tomosynthesis or other multi-frame "
            f"object), not a 2-D mammogram; {_ONLY_MAMMOGRAMS}"
        )
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if not photometric and "PixelData" in ds:
        raise ImageDecodeError(
            source_path, "the DICOM file does not say how its pixels are to be shown (no "
            "photometric interpretation); it may be damaged"
        )
    if photometric not in _GREY and "PixelData" in ds:
        raise ImageDecodeError(
            source_path, f"DICOM photometric interpretation {photometric} is not a greyscale "
            "mammogram (MONOCHROME1 or MONOCHROME2); colour images are not read"
        )


def _ensure_decodable(ds: Dataset, source_path: str) -> None:
    """Refuse early, by name, a transfer syntax that no installed plugin can decode."""
    uid = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if uid is None:
        # A bare dataset without file meta: its encoding tells which native syntax it uses.
        implicit, little = ds.original_encoding
        uid = (
            ImplicitVRLittleEndian
            if implicit
            else ExplicitVRLittleEndian
            if little is not False
            else ExplicitVRBigEndian
        )
        ds.ensure_file_meta()
        ds.file_meta.TransferSyntaxUID = uid
    uid = UID(str(uid))
    label = uid if uid.name == uid else f"{uid.name} ({uid})"
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise ImageDecodeError(
            source_path, f"DICOM transfer syntax {label} is not supported"
        ) from exc
    if not decoder.is_available:
        raise ImageDecodeError(
            source_path,
            f"DICOM transfer syntax {label} is not supported: its decoder is not installed",
        )


def _grey_display(stored: np.ndarray, ds: Dataset, source_path: str
                  ) -> tuple[np.ndarray, IntensityScale | None]:
    """Modality LUT, then VOI LUT or window, scaled to [0, 1], then MONOCHROME1 inversion;
    with what the result stands for in the file's values."""
    try:
        modality = apply_modality_lut(stored, ds)
        if np.issubdtype(modality.dtype, np.floating) and not np.isfinite(modality).all():
            raise ImageDecodeError(
                source_path, "the DICOM display settings are invalid (the rescale slope or "
                "intercept is not a number)"
            )
        if _has_voi_lut(ds) and np.issubdtype(modality.dtype, np.floating):
            # A VOI LUT is indexed by integers; rescaled values are whole numbers in practice.
            modality = np.rint(modality).astype(np.int64)
        voi = apply_voi_lut(modality, ds)
        low, high = _voi_output_range(ds, modality)
    except (ValueError, TypeError, KeyError, IndexError, NotImplementedError) as exc:
        raise ImageDecodeError(
            source_path, "the DICOM display settings (modality or VOI LUT, window) are invalid"
        ) from exc
    span = high - low
    if span > 0:
        scaled = (voi.astype(np.float64) - low) / span
    else:
        scaled = np.zeros(voi.shape, dtype=np.float64)
    scaled = np.clip(scaled, 0.0, 1.0)
    monochrome1 = str(ds.PhotometricInterpretation).strip().upper() == "MONOCHROME1"
    if monochrome1:
        scaled = 1.0 - scaled
    return scaled.astype(np.float32), _intensity(ds, low=low, high=high, monochrome1=monochrome1)


def _intensity(ds: Dataset, *, low: float, high: float, monochrome1: bool
               ) -> IntensityScale | None:
    """The file's values at black and white: the ends of its linear window, else the image's
    own range (``low``, ``high``); None for a VOI LUT or a sigmoid window (not linear)."""
    if _has_voi_lut(ds):
        return None
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        if str(ds.get("VOILUTFunction", "LINEAR")).strip().upper() == "SIGMOID":
            return None
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
        # DICOM's linear window runs from c - 0.5 - (w-1)/2 to c - 0.5 + (w-1)/2; half a unit
        # off at most, these ends let the file's own window read back as exactly (c, w).
        low, high = center - width / 2.0, center + width / 2.0
    if high <= low:
        return None
    if monochrome1:
        return IntensityScale(at_black=high, at_white=low, unit="DICOM value")
    return IntensityScale(at_black=low, at_white=high, unit="DICOM value")


def _first(value: object) -> float:
    """The first of a possibly multi-valued number (pydicom applies the first window too)."""
    if isinstance(value, MultiValue | list | tuple):
        return float(value[0])
    return float(value)  # type: ignore[arg-type]


def _has_voi_lut(ds: Dataset) -> bool:
    """Same test as pydicom's ``apply_voi_lut``: a first item with descriptor and data."""
    sequence = ds.get("VOILUTSequence")
    if not sequence:
        return False
    item = sequence[0]
    return item.get("LUTDescriptor") is not None and item.get("LUTData") is not None


def _voi_output_range(ds: Dataset, modality: np.ndarray) -> tuple[float, float]:
    """The range of values ``apply_voi_lut`` can produce, to map onto black..white.

    A VOI LUT spans 0..2**bits-1 of its descriptor; a window spans the range pydicom's
    ``apply_windowing`` maps onto; with neither, the image's own minimum and maximum are used.
    """
    if _has_voi_lut(ds):
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        return 0.0, float(2**bits - 1)
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        bits_stored = int(ds.BitsStored)
        if ds.get("ModalityLUTSequence"):
            low, high = 0.0, float(2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
        elif int(ds.get("PixelRepresentation", 0)) == 0:
            low, high = 0.0, float(2**bits_stored - 1)
        else:
            low, high = float(-(2 ** (bits_stored - 1))), float(2 ** (bits_stored - 1) - 1)
        slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
        if slope is not None and intercept is not None:
            low = low * float(slope) + float(intercept)
            high = high * float(slope) + float(intercept)
        return low, high
    return float(modality.min()), float(modality.max())


def _coded_view(ds: Dataset) -> str | None:
    """The view named by the first item of the ViewCodeSequence, when there is one."""
    sequence = ds.get("ViewCodeSequence")
    if not sequence:
        return None
    item = sequence[0]
    return view_from_code(value=_text(item, "CodeValue"), meaning=_text(item, "CodeMeaning"))


def _date(ds: Dataset, keyword: str) -> str | None:
    """A DICOM date (``YYYYMMDD``) as ISO ``YYYY-MM-DD``; any other text as the file wrote it
    (a date that is no date, such as month 13, is still worth showing)."""
    text = _text(ds, keyword)
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date().isoformat()
    except ValueError:
        return text


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None
