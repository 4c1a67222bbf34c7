"""Opening mammograms: raster files and DICOM into display-ready greyscale, with limits.

No Qt and no machine-learning framework here: the app, the command line and the model all use
this package the same way.
"""

from core.imaging.image import ImageMeta, IntensityScale, MammoImage
from core.imaging.loader import ensure_mammogram_shape, open_image
from core.imaging.paths import SUPPORTED_SUFFIXES, iter_image_paths

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ImageMeta",
    "IntensityScale",
    "MammoImage",
    "ensure_mammogram_shape",
    "iter_image_paths",
    "open_image",
]
