"""The per-user folder where built things are cached between starts (the law index, the intent model, the
parsed message catalogues). Only the standard library: reading the cache must not import what it saves."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def default_cache_dir() -> Path:
    """A per-user folder in the system temp directory."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"redbutler-index-{uid}"


def private_dir(cache_dir: str | Path) -> Path | None:
    """The cache folder if it is ours and private (what is read from a folder others can write is not safe:
    a pickle runs code, a message catalogue speaks to residents)."""
    folder = Path(cache_dir)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return None
    return folder
