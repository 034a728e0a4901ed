"""One Settings object, read once at start and passed down.

Read with the standard library: pydantic and pydantic-settings, imported for these two dozen values alone,
were ~10 MB of the bot's idle RSS (issue 17). What they did and this keeps: each field from
``REDBUTLER_<NAME>`` in the environment (any case), else from ``.env`` in the working directory (parsed by
python-dotenv, as before), else its default; values given to the constructor win over both; a value of the
wrong shape stops the start with the variable named; secrets never show in a repr or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

DEFAULT_DB_PATH = Path("var") / "redbutler.sqlite3"
ENV_PREFIX = "REDBUTLER_"

HttpClient = Literal["aiohttp", "httpx"]


class SecretStr:
    """A string kept out of reprs and logs: the bot token, the webhook secret."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(init=False)
class Settings:
    # Bot token from @BotFather; empty runs against the local emulator.
    telegram_token: SecretStr | None = None
    # Bot API base URL, e.g. http://127.0.0.1:8081/bot (self-hosted or emulator).
    telegram_base_url: str | None = None
    # HTTP client for the Bot API: aiohttp (a fifth of httpx's CPU per call) or PTB's httpx.
    telegram_http: HttpClient = "aiohttp"
    # Used for deep links when not yet known.
    bot_username: str = "RedButlerBot"
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    timezone: str = "Asia/Shanghai"
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

    def __init__(self, _env_file: str | Path | None = ".env", **values: Any) -> None:
        """Values given here, else the environment, else ``_env_file`` (None: no file), else the defaults."""
        unknown = set(values) - _PARSERS.keys()
        if unknown:
            raise TypeError(f"Settings has no field {', '.join(sorted(unknown))}")
        environment = _environment(_env_file)
        for name, parse in _PARSERS.items():
            if name in values:
                value = values[name]
                if isinstance(value, str) and parse is _secret:
                    value = SecretStr(value)
            elif name in environment:
                variable = ENV_PREFIX + name.upper()
                try:
                    value = parse(environment[name])
                except ValueError as exc:
                    raise ValueError(f"{variable}: {exc}") from None
            else:
                value = _DEFAULTS[name]
            setattr(self, name, value)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (the demo's database, the emulator's URL)."""
        copy = object.__new__(Settings)
        copy.__dict__.update(self.__dict__)
        for name, value in changes.items():
            if name not in _PARSERS:
                raise TypeError(f"Settings has no field {name}")
            setattr(copy, name, value)
        return copy

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


def _environment(env_file: str | Path | None) -> dict[str, str]:
    """Our variables by field name: from the file first, then the environment over it (any case, as
    pydantic-settings read them; an empty value is a value)."""
    found: dict[str, str] = {}
    sources: list[dict[str, str | None]] = []
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values

        sources.append(dict(dotenv_values(env_file)))
    sources.append(dict(os.environ))
    prefix = ENV_PREFIX.lower()
    for source in sources:
        for key, value in source.items():
            lowered = key.lower()
            if value is not None and lowered.startswith(prefix):
                found[lowered[len(prefix) :]] = value
    return found


def _secret(text: str) -> SecretStr:
    return SecretStr(text)


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"not a whole number: {text!r}") from None


def _number(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"not true or false: {text!r}")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return parse


def _text(text: str) -> str:
    return text


_BY_TYPE: dict[str, Callable[[str], Any]] = {
    "SecretStr | None": _secret,
    "str | None": _text,
    "str": _text,
    "int": _integer,
    "float": _number,
    "bool": _boolean,
    "HttpClient": _one_of(get_args(HttpClient)),
}
_PARSERS: dict[str, Callable[[str], Any]] = {f.name: _BY_TYPE[str(f.type)] for f in fields(Settings)}
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Settings)}

# The emulator accepts any token of the right shape; this one never reaches real Telegram.
EMULATOR_TOKEN = "123456:LOCAL-EMULATOR-TOKEN"
