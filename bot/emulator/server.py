"""The emulator over HTTP: the Bot API for PTB's real HTTP stack, webhook delivery and the web chat.

server = await start_emulator(world, "127.0.0.1", 0, presets=[{"user_id": 1, "name": "王阿姨", ...}])
bot = Bot(token, base_url=server.base_url, base_file_url=server.base_file_url)
...
await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

from bot.emulator.core import JSON, BotApiError, ConnectionDropped, FileTuple, TelegramWorld

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
WORLD_KEY: web.AppKey[TelegramWorld] = web.AppKey("world", TelegramWorld)
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_DEEP_LINK_RE = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]*)$")


@dataclass
class _ServerState:
    presets: list[JSON]
    token: str | None
    places: list[JSON] = field(default_factory=list)  # named coordinates the location dialog proposes
    queues: set[asyncio.Queue[JSON]] = field(default_factory=set)
    webhook_task: asyncio.Task[None] | None = None
    status_task: asyncio.Task[None] | None = None


STATE_KEY: web.AppKey[_ServerState] = web.AppKey("state", _ServerState)


@dataclass
class EmulatorServer:
    """A running emulator. ``base_url``/``base_file_url`` go to PTB's Bot / ApplicationBuilder."""

    world: TelegramWorld
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def chat_url(self) -> str:
        return f"{self.url}/ui/"

    async def stop(self) -> None:
        await stop_emulator(self.runner)


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )


def _api_error(exc: BotApiError) -> web.Response:
    return _json_response(exc.to_json(), exc.error_code)


# ----------------------------------------------------------------------------------------------------------
# Bot API


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, FileTuple]]:
    params: dict[str, Any] = {k: v for k, v in request.query.items()}
    files: dict[str, FileTuple] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif ctype == "multipart/form-data":
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = await part.read()
            if part.filename is not None:
                mime = part.headers.get("Content-Type", "application/octet-stream")
                files[part.name] = (part.filename or part.name, bytes(data), mime)
            else:
                params[part.name] = bytes(data).decode("utf-8")
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, FileField):
                files[key] = (value.filename, value.file.read(), value.content_type)
            elif isinstance(value, str):
                params[key] = value
    return params, files


def _check_token(request: web.Request, token: str) -> web.Response | None:
    state = request.app[STATE_KEY]
    if not _TOKEN_RE.match(token):
        return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
    if state.token is not None and token != state.token:
        return _json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
    return None


async def _bot_api(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    token, method = request.match_info["token"], request.match_info["method"]
    refused = _check_token(request, token)
    if refused is not None:
        return refused
    try:
        params, files = await _read_params(request)
    except ValueError:
        return _api_error(BotApiError(400, "Bad Request: can't parse JSON"))
    try:
        result = await world.call(method, params, files)
    except ConnectionDropped:
        if request.transport is not None:
            request.transport.close()
        raise web.HTTPServiceUnavailable() from None
    except BotApiError as exc:
        return _api_error(exc)
    return _json_response({"ok": True, "result": result})


async def _file_download(request: web.Request) -> web.StreamResponse:
    refused = _check_token(request, request.match_info["token"])
    if refused is not None:
        return refused
    world = request.app[WORLD_KEY]
    data = world.file_bytes(request.match_info["path"])
    if data is None:
        return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
    return web.Response(body=data, content_type="application/octet-stream")


# ----------------------------------------------------------------------------------------------------------
# webhook delivery


async def _webhook_loop(world: TelegramWorld) -> None:
    backoff = 0.5
    async with ClientSession(timeout=ClientTimeout(total=15)) as session:
        while True:
            hook = world.webhook
            if hook is None:
                await world.wait_for_update(1.0)
                await asyncio.sleep(0.05 if world.webhook is None else 0)
                continue
            updates = world.deliverable_updates()
            if not updates:
                await world.wait_for_update(1.0)
                continue
            update = updates[0]
            headers = {"Content-Type": "application/json"}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            try:
                async with session.post(
                    hook["url"], data=json.dumps(update, ensure_ascii=False), headers=headers
                ) as r:
                    ok = 200 <= r.status < 300
                    error = f"Wrong response from the webhook: {r.status} {r.reason}"
            except Exception as exc:  # any failure is retried, as Telegram does
                ok, error = False, f"Connection failed: {exc.__class__.__name__}"
            if world.webhook is not hook:
                continue  # changed while we were posting
            if ok:
                world.confirm_updates(update["update_id"])
                world.webhook_last_error = None
                backoff = 0.5
            else:
                world.webhook_last_error = (world._now(), error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)


# ----------------------------------------------------------------------------------------------------------
# web chat API


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} 需要是数字") from None


def _fail(message: str, status: int = 400) -> web.Response:
    return _json_response({"ok": False, "error": message}, status)


async def _body(request: web.Request) -> JSON:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _chat_arg(data: JSON, user_id: int) -> int | None:
    chat_id = data.get("chat_id")
    if chat_id in (None, "", user_id, str(user_id)):
        return None
    return _int(chat_id, "chat_id")


async def _to_ui(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


async def _ui_index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


async def _ui_state(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    state = request.app[STATE_KEY]
    preset_ids = {int(p["user_id"]) for p in state.presets}
    users = [
        {
            "user_id": uid,
            "name": " ".join(filter(None, [u.get("first_name"), u.get("last_name")])),
            "username": u.get("username"),
            "preset": uid in preset_ids,
        }
        for uid, u in sorted(world.users.items())
    ]
    return _json_response(
        {
            "bot": {
                "id": world.bot_id,
                "username": world.bot_username,
                "name": world.bot_name,
                "connected": world.bot_connected(),
            },
            "presets": state.presets,
            "places": state.places,
            "users": users,
            "groups": world.all_groups(),
        }
    )


async def _ui_create_user(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    data = await _body(request)
    name = str(data.get("name", "")).strip()
    if not name:
        return _fail("请填写名字")
    if len(name) > 64:
        return _fail("名字太长了")
    user_id = data.get("user_id")
    try:
        uid = _int(user_id, "user_id") if user_id not in (None, "") else max([*world.users, 9000]) + 1
    except ValueError as exc:
        return _fail(str(exc))
    if uid <= 0:
        return _fail("用户编号要大于 0")
    if uid in world.users:
        return _fail("这个用户编号已经有人用了")
    user = world.add_user(uid, name, started=False)
    return _json_response({"ok": True, "user": user})


async def _ui_chats(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    try:
        uid = _int(request.query.get("user_id"), "user_id")
    except ValueError as exc:
        return _fail(str(exc))
    if uid not in world.users:
        return _fail("没有这个人", 404)
    chats = []
    for chat in world.chats_of(uid):
        history = [m for m in world.chat_history(chat["id"]) if not m.deleted]
        last = history[-1] if history else None
        chats.append(
            {
                **chat,
                "display": chat.get("title") or world.bot_name,
                "last": (last.text or _kind_label(last.kind)) if last else "",
            }
        )
    return _json_response({"ok": True, "chats": chats})


def _kind_label(kind: str) -> str:
    return {
        "photo": "[图片]",
        "document": "[文件]",
        "location": "[位置]",
        "contact": "[联系人]",
        "service": "[通知]",
    }.get(kind, "")


async def _ui_messages(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    try:
        uid = _int(request.query.get("user_id"), "user_id")
        chat_id = _int(request.query.get("chat_id", uid), "chat_id")
        messages = world.ui_messages(chat_id)
    except ValueError:
        return _fail("没有这个聊天", 404)
    return _json_response(
        {
            "ok": True,
            "chat": world.chat_json(chat_id),
            "messages": messages,
            "reply_keyboard": world.reply_keyboard(chat_id),
            "commands": world.commands_for(uid, chat_id) if uid in world.users else [],
        }
    )


def _ui_action(func: Any) -> Any:
    async def handler(request: web.Request) -> web.Response:
        world = request.app[WORLD_KEY]
        try:
            return _json_response({"ok": True, "update": await func(request, world)})
        except ValueError as exc:
            return _fail(str(exc))

    return handler


async def _send_text(request: web.Request, world: TelegramWorld) -> JSON:
    data = await _body(request)
    uid = _int(data.get("user_id"), "user_id")
    text = str(data.get("text", ""))
    if not text.strip():
        raise ValueError("不能发送空消息")
    if len(text) > 4096:
        raise ValueError("消息太长了（最多 4096 个字）")
    reply_to = data.get("reply_to")
    return world.user_sends_text(
        uid, text, chat_id=_chat_arg(data, uid), reply_to=_int(reply_to, "reply_to") if reply_to else None
    )


async def _press(request: web.Request, world: TelegramWorld) -> JSON:
    data = await _body(request)
    uid = _int(data.get("user_id"), "user_id")
    return world.user_presses(
        uid,
        _int(data.get("message_id"), "message_id"),
        str(data.get("data", "")),
        chat_id=_chat_arg(data, uid),
    )


async def _contact(request: web.Request, world: TelegramWorld) -> JSON:
    data = await _body(request)
    uid = _int(data.get("user_id"), "user_id")
    phone = re.sub(r"[\s-]", "", str(data.get("phone", "")))
    if not re.fullmatch(r"\+?\d{5,15}", phone):
        raise ValueError("请填写正确的电话号码")
    return world.user_sends_contact(uid, phone, chat_id=_chat_arg(data, uid))


async def _location(request: web.Request, world: TelegramWorld) -> JSON:
    data = await _body(request)
    uid = _int(data.get("user_id"), "user_id")
    try:
        lat, lon = float(data.get("latitude", "")), float(data.get("longitude", ""))
    except (TypeError, ValueError):
        raise ValueError("请填写正确的纬度和经度") from None
    return world.user_sends_location(uid, lat, lon, chat_id=_chat_arg(data, uid))


async def _deep_link(request: web.Request, world: TelegramWorld) -> JSON:
    data = await _body(request)
    uid = _int(data.get("user_id"), "user_id")
    link = str(data.get("link", "")).strip()
    m = _DEEP_LINK_RE.match(link)
    if m:
        if m.group(1).lower() != world.bot_username.lower():
            raise ValueError(f"这个链接是给 @{m.group(1)} 的，不是本机器人")
        payload = m.group(2)
    elif re.fullmatch(r"[A-Za-z0-9_-]{1,64}", link):
        payload = link
    else:
        raise ValueError("链接看不懂：应该像 https://t.me/机器人?start=代码")
    if not payload:
        return world.user_sends_text(uid, "/start")
    return world.user_opens_deep_link(uid, payload)


async def _join(request: web.Request, world: TelegramWorld) -> JSON:
    data = await _body(request)
    return world.user_joins_group(_int(data.get("user_id"), "user_id"), _int(data.get("chat_id"), "chat_id"))


async def _photo(request: web.Request, world: TelegramWorld) -> JSON:
    if request.content_type != "multipart/form-data":
        raise ValueError("请选择一张图片")
    form = await request.post()
    uid = _int(form.get("user_id"), "user_id")
    upload = form.get("file")
    if not isinstance(upload, FileField):
        raise ValueError("请选择一张图片")
    data = upload.file.read()
    if not data:
        raise ValueError("图片是空的")
    if len(data) > 10 * 1024 * 1024:
        raise ValueError("图片太大了（最多 10MB）")
    caption = str(form.get("caption") or "").strip() or None
    chat = form.get("chat_id")
    chat_id = None if chat in (None, "", str(uid)) else _int(chat, "chat_id")
    if (upload.content_type or "").startswith("image/"):
        return world.user_sends_photo(uid, chat_id=chat_id, caption=caption, data=data)
    return world.user_sends_document(
        uid,
        filename=upload.filename or "file",
        data=data,
        mime_type=upload.content_type or "application/octet-stream",
        chat_id=chat_id,
        caption=caption,
    )


async def _ui_file(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    stored = world.stored_file(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound()
    mime = stored.mime_type if stored.mime_type.startswith("image/") else "application/octet-stream"
    headers = {"Cache-Control": "max-age=3600"}
    if stored.file_name and not mime.startswith("image/"):
        headers["Content-Disposition"] = "attachment"
    return web.Response(body=stored.data, content_type=mime, headers=headers)


async def _ui_events(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    state = request.app[STATE_KEY]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue: asyncio.Queue[JSON] = asyncio.Queue(maxsize=1000)
    state.queues.add(queue)
    try:
        await response.write(b"retry: 2000\n\n")
        await _sse(response, {"type": "status", "connected": world.bot_connected()})
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), 15)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            await _sse(response, event)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        state.queues.discard(queue)
    return response


async def _sse(response: web.StreamResponse, event: JSON) -> None:
    await response.write(b"data: " + json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n\n")


async def _status_loop(world: TelegramWorld, state: _ServerState) -> None:
    last: bool | None = None
    while True:
        connected = world.bot_connected()
        if connected != last:
            _broadcast(state, {"type": "status", "connected": connected})
            last = connected
        await asyncio.sleep(1.0)


def _broadcast(state: _ServerState, event: JSON) -> None:
    for queue in list(state.queues):
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(event)


# ----------------------------------------------------------------------------------------------------------
# assembly


def create_app(
    world: TelegramWorld,
    *,
    presets: list[JSON] | None = None,
    token: str | None = None,
    places: list[JSON] | None = None,
) -> web.Application:
    """The aiohttp app. ``presets``: [{user_id, name, description}] offered on the web page (added to the
    world if missing). ``token``: when given, only this bot token is accepted (401 otherwise)."""
    clean_presets = []
    for p in presets or []:
        uid = int(p["user_id"])
        if uid not in world.users:
            world.add_user(uid, str(p["name"]), username=p.get("username"), started=False)
        clean_presets.append(
            {"user_id": uid, "name": str(p["name"]), "description": str(p.get("description", ""))}
        )
    app = web.Application(client_max_size=50 * 1024 * 1024)
    clean_places = [
        {"name": str(p["name"]), "latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        for p in places or []
    ]
    state = _ServerState(presets=clean_presets, token=token, places=clean_places)
    app[WORLD_KEY] = world
    app[STATE_KEY] = state

    def listener(event: JSON) -> None:
        _broadcast(state, event)

    async def on_startup(app: web.Application) -> None:
        world.listeners.append(listener)
        state.webhook_task = asyncio.create_task(_webhook_loop(world))
        state.status_task = asyncio.create_task(_status_loop(world, state))

    async def on_cleanup(app: web.Application) -> None:
        with contextlib.suppress(ValueError):
            world.listeners.remove(listener)
        for task in (state.webhook_task, state.status_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def on_shutdown(app: web.Application) -> None:
        _broadcast(state, {"type": "shutdown"})

    async def revalidate_static(request: web.Request, response: web.StreamResponse) -> None:
        # the page's own files: a browser asks again (a cheap 304) instead of keeping yesterday's app.js
        if request.path.startswith("/ui/static/"):
            response.headers["Cache-Control"] = "no-cache"

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_response_prepare.append(revalidate_static)
    app.on_cleanup.append(on_cleanup)
    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", _file_download)
    app.router.add_get("/", _to_ui)
    app.router.add_get("/ui", _to_ui)
    app.router.add_get("/ui/", _ui_index)
    app.router.add_get("/ui/open", _ui_index)
    app.router.add_static("/ui/static/", STATIC_DIR, append_version=False)
    app.router.add_get("/ui/api/state", _ui_state)
    app.router.add_post("/ui/api/users", _ui_create_user)
    app.router.add_get("/ui/api/chats", _ui_chats)
    app.router.add_get("/ui/api/messages", _ui_messages)
    app.router.add_post("/ui/api/send", _ui_action(_send_text))
    app.router.add_post("/ui/api/press", _ui_action(_press))
    app.router.add_post("/ui/api/contact", _ui_action(_contact))
    app.router.add_post("/ui/api/location", _ui_action(_location))
    app.router.add_post("/ui/api/deeplink", _ui_action(_deep_link))
    app.router.add_post("/ui/api/join", _ui_action(_join))
    app.router.add_post("/ui/api/photo", _ui_action(_photo))
    app.router.add_get("/ui/file/{file_id}", _ui_file)
    app.router.add_get("/ui/events", _ui_events)
    return app


async def start_emulator(
    world: TelegramWorld,
    host: str = "127.0.0.1",
    port: int = 8081,
    *,
    presets: list[JSON] | None = None,
    token: str | None = None,
    places: list[JSON] | None = None,
) -> EmulatorServer:
    """Serve the emulator on host:port (port 0 picks a free port) and return the running server."""
    app = create_app(world, presets=presets, token=token, places=places)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    server = site._server
    for sock in getattr(server, "sockets", None) or []:
        bound = sock.getsockname()[1]
        break
    return EmulatorServer(world=world, runner=runner, host=host, port=bound)


async def stop_emulator(runner: web.AppRunner) -> None:
    await runner.cleanup()
