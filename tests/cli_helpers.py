"""Running the `redbutler` command line in-process from a test."""

from __future__ import annotations

import io

import pytest

from bot.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `redbutler ARGV...` (stdin replaced when given)."""
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
