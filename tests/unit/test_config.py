"""Settings as an operator sets them: the environment, a .env file, defaults; what pydantic-settings did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import EMULATOR_TOKEN, SecretStr, Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.upper().startswith("REDBUTLER_"):
            monkeypatch.delenv(key)


def test_defaults_without_environment_or_file() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///var/redbutler.sqlite3"
    assert settings.telegram_token is None
    assert settings.token() == EMULATOR_TOKEN
    assert settings.webhook_port == 8443
    assert settings.outbox_global_per_second == 29.0
    assert settings.outbox_autostart is True
    assert settings.telegram_http == "aiohttp"
    assert str(settings.tz) == "Asia/Shanghai"


def test_environment_in_any_case_over_the_file_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# the operator's file\n"
        "REDBUTLER_WEBHOOK_PORT=9000\n"
        'export REDBUTLER_BOT_USERNAME="FromFile"\n'
        "REDBUTLER_LOG_LEVEL=DEBUG\n"
        "OTHER_THING=ignored\n"
    )
    monkeypatch.setenv("REDBUTLER_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("redbutler_outbox_autostart", "off")
    monkeypatch.setenv("REDBUTLER_OUTBOX_CHAT_PER_SECOND", "2.5")
    monkeypatch.setenv("REDBUTLER_TELEGRAM_TOKEN", "42:secret")
    settings = Settings(_env_file=env_file)
    assert settings.webhook_port == 9000
    assert settings.bot_username == "FromFile"
    assert settings.log_level == "WARNING"
    assert settings.outbox_autostart is False
    assert settings.outbox_chat_per_second == 2.5
    assert settings.token() == "42:secret"
    # Values given in code win over both.
    assert Settings(_env_file=env_file, webhook_port=1234, log_level="ERROR").webhook_port == 1234


def test_the_file_in_the_working_directory_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("REDBUTLER_TIMEZONE=Europe/Berlin\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().timezone == "Europe/Berlin"
    assert Settings(_env_file=None).timezone == "Asia/Shanghai"


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDBUTLER_WEBHOOK_SECRET", "s3cret")
    settings = Settings(_env_file=None, telegram_token="123:abc")
    assert isinstance(settings.telegram_token, SecretStr)
    assert "s3cret" not in repr(settings) and "123:abc" not in repr(settings)
    assert settings.webhook_secret == SecretStr("s3cret")
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == "s3cret"
    # An empty token runs against the emulator, as before.
    monkeypatch.setenv("REDBUTLER_TELEGRAM_TOKEN", "")
    assert Settings(_env_file=None).token() == EMULATOR_TOKEN


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDBUTLER_WEBHOOK_PORT", "eighty"),
        ("REDBUTLER_OUTBOX_AUTOSTART", "maybe"),
        ("REDBUTLER_TELEGRAM_HTTP", "curl"),
        ("REDBUTLER_OUTBOX_GLOBAL_PER_SECOND", ""),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        Settings(_env_file=None)


def test_replace_changes_a_copy_only() -> None:
    settings = Settings(_env_file=None)
    demo = settings.replace(database_url="sqlite+aiosqlite:///var/demo.sqlite3", telegram_token=None)
    assert demo.database_url.endswith("demo.sqlite3")
    assert settings.database_url.endswith("redbutler.sqlite3")
    with pytest.raises(TypeError):
        settings.replace(no_such_field=1)
    with pytest.raises(TypeError):
        Settings(_env_file=None, no_such_field=1)


def test_reading_settings_imports_no_pydantic() -> None:
    """pydantic was ~10 MB of the running bot's memory for these values alone (issue 17)."""
    code = "import sys; from bot.config import Settings; Settings(); print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
