"""The per-user folder where built things are cached between starts (the law index, the intent model, the
parsed message catalogues, the corpus' YAML files). Only the standard library: reading the cache must not
import what it saves."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any


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


# Bump when what is cached for a YAML file changes shape.
_YAML_CACHE_VERSION = b"1"


def load_yaml(path: Path, cache_dir: str | Path | None) -> Any:
    """A YAML file's data, as ``yaml.safe_load`` (libyaml's loader when present) gives it; raises OSError,
    UnicodeDecodeError or ValueError (the parser's message) when the file cannot be read.

    With a ``cache_dir``, remembered there as JSON, keyed by the file's bytes: at start the corpus is read
    from JSON and PyYAML is not imported at all (1.5 MB, and JSON is parsed several times faster). Data JSON
    cannot hold as it is (dates, keys that are not strings) is simply not remembered."""
    raw = path.read_bytes()
    digest = hashlib.sha256(_YAML_CACHE_VERSION + b"\0" + raw).hexdigest()
    folder = private_dir(cache_dir) if cache_dir is not None else None
    # One cache file per source file (named by its path), overwritten when the file changes.
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:20]
    cached = folder / f"yaml-{name}.json" if folder else None
    if cached is not None:
        try:
            stored = json.loads(cached.read_text(encoding="utf-8"))
            if isinstance(stored, dict) and stored.get("sha256") == digest:
                return stored.get("data")
        except (OSError, ValueError):
            pass
    text = raw.decode("utf-8")
    import yaml

    try:
        from yaml import CSafeLoader as loader
    except ImportError:  # pragma: no cover
        from yaml import SafeLoader as loader  # type: ignore[assignment]
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc
    if cached is not None:
        try:
            encoded = json.dumps({"sha256": digest, "data": data}, ensure_ascii=False)
            if json.loads(encoded)["data"] == data:
                fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        fh.write(encoded)
                    os.replace(tmp, cached)
                finally:
                    Path(tmp).unlink(missing_ok=True)
        except (OSError, TypeError, ValueError):
            pass
    return data
