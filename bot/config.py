"""One Settings object, read once at start and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var") / "redbutler.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDBUTLER_", env_file=".env", extra="ignore")

    telegram_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather; empty runs against the local emulator"
    )
    telegram_base_url: str | None = Field(
        default=None, description="Bot API base URL, e.g. http://127.0.0.1:8081/bot (self-hosted or emulator)"
    )
    telegram_http: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        description="HTTP client for the Bot API: aiohttp (a fifth of httpx's CPU per call) or PTB's httpx",
    )
    bot_username: str = Field(default="RedButlerBot", description="Used for deep links when not yet known")
    database_url: str = Field(default=f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}")
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


# The emulator accepts any token of the right shape; this one never reaches real Telegram.
EMULATOR_TOKEN = "123456:LOCAL-EMULATOR-TOKEN"
