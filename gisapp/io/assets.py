"""Package assets and fonts: the vendored Leaflet and d3 files, and the font files of the charts and PDF.

The reports inline the vendored assets of ``gisapp/static`` (see its README.md for versions and
licences) into their self-contained pages, and hand the fonts found here to matplotlib and fpdf2.
Every read of those files goes through this module (only :mod:`gisapp.io` touches files).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final

__all__ = ["CJK_FONT_PATHS", "STATIC", "find_cjk_font", "latin_font", "static_bytes", "static_text"]

#: Folder of the vendored assets (see its README.md for versions and licences).
STATIC: Final = Path(__file__).resolve().parents[1] / "static"

#: Where to look for a font with Chinese glyphs (Debian/Ubuntu packages, then others).
CJK_FONT_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",        # fonts-droid-fallback
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",           # fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",                   # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",                     # fonts-wqy-zenhei
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)


def _static_path(rel: str) -> Path:
    path = (STATIC / rel).resolve()
    if not path.is_relative_to(STATIC):
        msg = f"{rel!r} is not inside {STATIC}."
        raise ValueError(msg)
    return path


@lru_cache(maxsize=8)
def static_text(rel: str) -> str:
    """Return the text (UTF-8) of a vendored asset, ``rel`` relative to :data:`STATIC`.

    Examples
    --------
    >>> "Leaflet" in static_text("leaflet/leaflet.js")
    True
    """
    return _static_path(rel).read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def static_bytes(rel: str) -> bytes:
    """Return the bytes of a vendored asset, ``rel`` relative to :data:`STATIC`.

    Examples
    --------
    >>> static_bytes("leaflet/images/layers.png")[:4]
    b'\\x89PNG'
    """
    return _static_path(rel).read_bytes()


def find_cjk_font() -> Path | None:
    """Return the first installed font of :data:`CJK_FONT_PATHS` (Chinese glyphs), or None."""
    for p in CJK_FONT_PATHS:
        if Path(p).is_file():
            return Path(p)
    return None


def latin_font(bold: bool = False) -> Path:
    """Return matplotlib's bundled DejaVu Sans (always installed with matplotlib).

    Examples
    --------
    >>> latin_font().name, latin_font(bold=True).name
    ('DejaVuSans.ttf', 'DejaVuSans-Bold.ttf')
    """
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
