"""PTB's request interface answered in-process by a :class:`TelegramWorld` (no sockets).

world = TelegramWorld()
bot = Bot("123456:TEST", request=EmulatorRequest(world), get_updates_request=EmulatorRequest(world))
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.emulator.core import BotApiError, ConnectionDropped, FileTuple, TelegramWorld


def _read_content(content: Any) -> bytes:
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    if hasattr(content, "read"):
        data = content.read()
        return data if isinstance(data, bytes) else str(data).encode()
    return str(content).encode()


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode("utf-8")


def _error(exc: BotApiError) -> tuple[int, bytes]:
    return exc.error_code, json.dumps(exc.to_json(), ensure_ascii=False).encode("utf-8")


class EmulatorRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` that hands every call to ``world.call``.

    ``read_timeout`` (seconds, None = wait forever) bounds each call like a real HTTP client would:
    a "delay" fault longer than it raises ``telegram.error.TimedOut``.
    """

    def __init__(self, world: TelegramWorld, *, read_timeout: float | None = 5.0) -> None:
        self.world = world
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        timeout: float | None = (
            self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout  # type: ignore[assignment]
        )
        if "/file/bot" in path:
            file_path = path.split("/file/bot", 1)[1].split("/", 1)[-1]
            data = self.world.file_bytes(file_path)
            if data is None:
                return _error(BotApiError(404, "Not Found"))
            return 200, data
        api_method = path.rstrip("/").rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        files: dict[str, FileTuple] = {}
        if request_data is not None and request_data.contains_files:
            for name, field_tuple in request_data.multipart_data.items():
                filename, content = field_tuple[0], field_tuple[1]
                mime = field_tuple[2] if len(field_tuple) > 2 else "application/octet-stream"
                files[name] = (filename or name, _read_content(content), str(mime))
        try:
            result = await asyncio.wait_for(self.world.call(api_method, params, files), timeout)
        except TimeoutError as exc:
            raise TimedOut(f"Timed out: the emulator did not answer {api_method} in {timeout} s") from exc
        except ConnectionDropped as exc:
            raise NetworkError(
                f"Connection dropped by the emulator (injected fault) during {api_method}"
            ) from exc
        except BotApiError as exc:
            return _error(exc)
        return _ok(result)
