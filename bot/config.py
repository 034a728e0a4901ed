"""One Settings object, read once at start and passed down.

Every field can be set as ``REDBUTLER_<NAME>`` (any case) in the environment or in a ``.env`` file in the
working directory; the environment wins over the file, and values given to ``Settings(...)`` win over both.
A plain dataclass: pydantic-settings did the same for about 9 MB of memory and 0.1 s of every start.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_DB_PATH = Path("var") / "redbutler.sqlite3"
DEFAULT_TIMEZONE = "Asia/Shanghai"
ENV_PREFIX = "REDBUTLER_"
ENV_FILE = ".env"


class SecretStr:
    """A value that is never shown: printing or logging it (or the settings holding it) gives stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"SecretStr('{self}')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(ValueError):
    """A setting whose value cannot be read as its type (the variable is named, a secret's value is not)."""


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError(text)


_READERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "str | None": str,
    "SecretStr | None": SecretStr,
    "int": lambda text: int(text.strip()),
    "float": lambda text: float(text.strip()),
    "bool": _bool,
}


@dataclass(init=False)
class Settings:
    # Bot token from @BotFather; empty runs against the local emulator.
    telegram_token: SecretStr | None = None
    # Bot API base URL, e.g. http://127.0.0.1:8081/bot (self-hosted or the emulator).
    telegram_base_url: str | None = None
    bot_username: str = "RedButlerBot"  # used for deep links when not yet known
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    timezone: str = DEFAULT_TIMEZONE
    default_language: str = "zh_CN"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None
    emulator_host: str = "127.0.0.1"
    emulator_port: int = 8081
    outbox_concurrency: int = 4
    # Telegram allows about 30/s; a little headroom absorbs network jitter that bunches sends together.
    outbox_global_per_second: float = 29.0
    outbox_group_per_minute: int = 20
    outbox_chat_per_second: float = 1.0
    outbox_autostart: bool = True
    join_requests_per_day: int = 3
    log_level: str = "INFO"
    # A font with Chinese for charts and PDF reports; empty: the first one installed (bot/reports/fonts.py).
    cjk_font: str | None = None

    def __init__(self, _env_file: str | Path | None = ENV_FILE, **values: Any) -> None:
        """``values`` override the environment, which overrides ``_env_file`` (None: no file); names the
        settings do not have are ignored, in the arguments as in the environment."""
        given = {name.lower(): value for name, value in values.items()}
        environment = _prefixed(os.environ)
        from_file = _read_env_file(_env_file)
        for f in dataclasses.fields(self):
            if f.name in given:
                value = given[f.name]
                source = f.name
            elif f.name in environment:
                value, source = environment[f.name], ENV_PREFIX + f.name.upper()
            elif f.name in from_file:
                value, source = from_file[f.name], f"{ENV_PREFIX}{f.name.upper()} ({_env_file})"
            else:
                setattr(self, f.name, f.default)
                continue
            setattr(self, f.name, _convert(f, value, source))

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Settings:
        """A copy with some values replaced (taken as given, as when assigning them)."""
        clone = copy.copy(self)
        for name, value in (update or {}).items():
            setattr(clone, name, value)
        return clone

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def token(self) -> str:
        if self.telegram_token is not None and self.telegram_token.get_secret_value():
            return self.telegram_token.get_secret_value()
        return EMULATOR_TOKEN


def _prefixed(variables: Mapping[str, str | None]) -> dict[str, str]:
    """REDBUTLER_* variables by their setting's name (lower case); a name given without a value is unset."""
    size = len(ENV_PREFIX)
    return {
        key[size:].lower(): value
        for key, value in variables.items()
        if value is not None and key[:size].upper() == ENV_PREFIX
    }


def _read_env_file(path: str | Path | None) -> dict[str, str]:
    if path is None:
        return {}
    file = Path(path).expanduser()
    if not (file.is_file() or file.is_fifo()):
        return {}
    from dotenv import dotenv_values  # only when there is a file

    return _prefixed(dotenv_values(file, encoding="utf-8"))


def _convert(f: dataclasses.Field[Any], value: Any, source: str) -> Any:
    kind = str(f.type)
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return value
    try:
        return _READERS[kind](value)
    except ValueError:
        shown = "" if "SecretStr" in kind else f": {value!r}"
        raise SettingsError(f"{source} must be {kind.split(' |')[0]}{shown}") from None


# The emulator accepts any token of the right shape; this one never reaches real Telegram.
EMULATOR_TOKEN = "123456:LOCAL-EMULATOR-TOKEN"
