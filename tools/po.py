"""Write a pair of catalogues (zh_CN, en) for one capability from a table of (key, zh, en).

Used once to start a catalogue; afterwards edit the .po files themselves.
Usage from Python: write_catalogue("core", [("key", "中文", "English"), ...])
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "i18n" / "locales"


def write_catalogue(domain: str, rows: list[tuple[str, str, str]]) -> None:
    for index, language in enumerate(("zh_CN", "en"), start=1):
        catalog = Catalog(locale=language, project="redbutler", domain=domain)
        for row in rows:
            catalog.add(row[0], row[index])
        path = LOCALES / language / f"{domain}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, omit_header=True, sort_output=False)
