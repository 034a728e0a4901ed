"""The shared `redbutler bench ...` parser: capabilities add their benchmarks under it.

Usage in a CLI module's register(subparsers): `bench_subparsers(subparsers).add_parser("law", ...)`.
Whichever module registers first creates `bench`; the others reuse it.
"""

from __future__ import annotations

import argparse
from typing import Any


def bench_subparsers(subparsers: Any) -> Any:
    """The sub-parsers object of `redbutler bench`, created on first use."""
    bench: argparse.ArgumentParser | None = subparsers.choices.get("bench")
    if bench is None:
        bench = subparsers.add_parser("bench", help="benchmarks (speed, accuracy, delivery rates)")
    for action in bench._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return bench.add_subparsers(dest="bench_command", required=True)
