"""Draw the application icon: ``resources/icons/mammo-workstation.svg``, a 256 px PNG, and
the .ico (Windows) and .icns (macOS) made from it.

One geometry, two renderings (the SVG by hand, the PNG with Pillow), so every launcher shows
the same picture. Run it again only to change the icon (``python packaging/make_icon.py``);
the outputs are committed.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "icons"
SIZE = 256
BACKGROUND = "#10263a"
TISSUE = "#c9d6e3"
RING = "#f2a33a"
# In units of a 256 px square: the rounded tile, the breast outline (a half disc against the
# chest wall on the left, as the model sees it) and a ring around a finding.
CORNER = 44
TISSUE_ELLIPSE = (24, 128, 150, 100)  # centre x, centre y, radii: its right half is drawn
FINDING = (120, 116, 22)  # centre x, centre y, radius
RING_WIDTH = 10


def svg() -> str:
    cx, cy, rx, ry = TISSUE_ELLIPSE
    fx, fy, fr = FINDING
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" \
viewBox="0 0 {SIZE} {SIZE}">
  <title>Mammo Workstation</title>
  <rect width="{SIZE}" height="{SIZE}" rx="{CORNER}" fill="{BACKGROUND}"/>
  <path d="M {cx} {cy - ry} A {rx} {ry} 0 0 1 {cx} {cy + ry} Z" fill="{TISSUE}"/>
  <circle cx="{fx}" cy="{fy}" r="{fr}" fill="none" stroke="{RING}" stroke-width="{RING_WIDTH}"/>
</svg>
"""


def png() -> Image.Image:
    scale = 4  # draw large, then downsample: smooth edges without an SVG renderer
    img = Image.new("RGBA", (SIZE * scale, SIZE * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, SIZE * scale - 1, SIZE * scale - 1), radius=CORNER * scale,
                           fill=BACKGROUND)
    cx, cy, rx, ry = TISSUE_ELLIPSE
    draw.pieslice(((cx - rx) * scale, (cy - ry) * scale, (cx + rx) * scale, (cy + ry) * scale),
                  start=-90, end=90, fill=TISSUE)
    fx, fy, fr = FINDING
    draw.ellipse(((fx - fr) * scale, (fy - fr) * scale, (fx + fr) * scale, (fy + fr) * scale),
                 outline=RING, width=RING_WIDTH * scale)
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "mammo-workstation.svg").write_text(svg())
    icon = png()
    icon.save(OUT / "mammo-workstation.png", optimize=True)
    # Windows (the .exe and Inno Setup) and macOS (the .app) want their own formats.
    icon.save(OUT / "mammo-workstation.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    icon.save(OUT / "mammo-workstation.icns")
    print(f"wrote {OUT}/mammo-workstation.svg, .png, .ico and .icns")


if __name__ == "__main__":
    main()
