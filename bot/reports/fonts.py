"""The CJK font charts and PDFs are set in.

The project installs WenQuanYi Micro Hei (Debian's fonts-wqy-microhei: .ci/run and the README's setup do it).
It is TrueType inside, so matplotlib draws with it and ReportLab can embed it. Without it, charts fall back to
matplotlib's own font (Chinese then shows as boxes: the log says so once) and PDFs to ReportLab's built-in
STSong-Light, which every PDF reader supplies, so a report still reads in Chinese.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)
_preferred: list[str] = []
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
SAMPLE = "幸福里小区响应率办结率满意率暂无数据"


def prefer(path: str | None) -> None:
    """The operator's font (Settings.cjk_font), tried before the usual places; set once at start."""
    _preferred[:] = [path] if path else []
    cjk_font_path.cache_clear()
    matplotlib_family.cache_clear()
    reportlab_font.cache_clear()


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The first CJK font found (REDBUTLER_CJK_FONT first), or None, said once in the log."""
    for name in (*_preferred, *CANDIDATES):
        path = Path(name)
        if path.is_file():
            return path
    log.warning(
        "no CJK font found (install fonts-wqy-microhei or set REDBUTLER_CJK_FONT): Chinese in charts will "
        "not render"
    )
    return None


@lru_cache(maxsize=1)
def matplotlib_family() -> str | None:
    """Registers the CJK font with matplotlib and returns its family name (None: matplotlib's default)."""
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        return None
    try:
        font_manager.fontManager.addfont(str(path))
        return str(font_manager.FontProperties(fname=str(path)).get_name())
    except (OSError, RuntimeError, ValueError):
        log.warning("matplotlib cannot read the CJK font %s", path)
        return None


@lru_cache(maxsize=1)
def reportlab_font() -> str:
    """A registered ReportLab font with Chinese: the embedded TrueType one, else STSong-Light."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path = cjk_font_path()
    if path is not None:
        try:
            pdfmetrics.registerFont(TTFont("RedButlerCJK", str(path), subfontIndex=0))
            return "RedButlerCJK"
        except (TTFError, OSError, ValueError):
            log.warning("ReportLab cannot embed %s (not TrueType?); using STSong-Light", path)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"
