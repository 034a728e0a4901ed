"""An in-memory Telegram: users, chats, messages, files and the Bot API methods the bot uses.

Nothing here touches the network. ``TelegramWorld.call`` answers a Bot API method with Telegram's JSON
(the ``result`` value) or raises :class:`BotApiError` with Telegram's own error text. The ``user_*``
methods play what people do in their Telegram apps and queue the resulting updates for ``getUpdates`` or
the webhook. Tests observe chats with :meth:`TelegramWorld.chat_history` and friends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.emulator.markup import (
    EntityParseError,
    MarkupError,
    UnsupportedParseMode,
    parse_formatted,
    utf16_len,
    validate_reply_markup,
)

JSON = dict[str, Any]
FileTuple = tuple[str, bytes, str]
FaultKind = Literal["5xx", "429", "drop", "delay"]
# (scope type, chat_id, user_id, language_code); e.g. ("default", None, None, ""), ("chat", -100, None, "zh")
CommandScopeKey = tuple[str, int | None, int | None, str]

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024


def make_png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid solid-colour PNG (what a user "photographs" in tests)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


TINY_PNG = make_png(4, 3)


class BotApiError(Exception):
    """A Bot API error exactly as Telegram reports it."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class ConnectionDropped(Exception):
    """An injected "drop" fault: the connection is closed without an answer."""


def bad_request(text: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {text}")


@dataclass
class Message:
    """One message as a person would see it in the chat."""

    message_id: int
    chat_id: int
    from_bot: bool
    from_user_id: int | None
    date: int
    kind: str  # text, photo, document, location, contact, poll, venue, service
    text: str | None = None  # text, or the caption of a photo/document
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None  # as sent (inline, reply keyboard, remove, force_reply)
    photo: list[JSON] | None = None
    document: JSON | None = None
    location: JSON | None = None
    contact: JSON | None = None
    poll: JSON | None = None
    reply_to_message_id: int | None = None
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False
    pinned: bool = False
    extra: JSON = field(default_factory=dict)  # new_chat_members, forward_origin, venue, ...

    @property
    def buttons(self) -> list[list[JSON]]:
        """Inline keyboard rows ([] when none)."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]

    def find_button(self, text: str) -> JSON:
        """The inline button whose text equals (or contains) ``text``; ValueError when none."""
        for exact in (True, False):
            for row in self.buttons:
                for b in row:
                    if (b["text"] == text) if exact else (text in b["text"]):
                        return b
        raise ValueError(f"no button {text!r} in message {self.message_id}: {self.button_texts}")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str
    file_name: str | None = None


@dataclass
class _Chat:
    id: int
    type: str  # private | supergroup | group
    title: str | None = None
    username: str | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    owner: int | None = None
    bot_member: bool = True
    started: bool = True  # private chats: the user has pressed Start
    history: list[Message] = field(default_factory=list)
    next_id: int = 1
    reply_keyboard: JSON | None = None
    menu_button: JSON | None = None
    description: str | None = None


@dataclass
class _Fault:
    kind: FaultKind
    method: str | None
    chat_id: int | None
    count: int
    retry_after: int
    delay: float


@dataclass
class _CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: JSON | None = None


_INT_FIELDS = {
    "chat_id",
    "from_chat_id",
    "message_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "cache_time",
    "message_thread_id",
    "correct_option_id",
    "open_period",
    "max_connections",
    "live_period",
    "heading",
    "proximity_alert_radius",
    "until_date",
    "business_connection_id_int",
}
_FLOAT_FIELDS = {"latitude", "longitude", "horizontal_accuracy"}
_BOOL_FIELDS = {
    "disable_notification",
    "show_alert",
    "drop_pending_updates",
    "is_anonymous",
    "allows_multiple_answers",
    "protect_content",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "is_closed",
    "disable_content_type_detection",
    "has_spoiler",
    "show_caption_above_media",
    "only_if_banned",
    "revoke_messages",
    "allow_paid_broadcast",
}
_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "options",
    "allowed_updates",
    "commands",
    "scope",
    "menu_button",
    "reply_parameters",
    "link_preview_options",
    "media",
    "explanation_entities",
    "question_entities",
    "message_ids",
    "permissions",
    "rights",
}
_SENDING_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendLocation",
    "sendVenue",
    "sendContact",
    "sendPoll",
    "sendMediaGroup",
    "copyMessage",
    "forwardMessage",
    "sendDice",
    "sendAudio",
    "sendVideo",
    "sendVoice",
    "sendAnimation",
    "sendSticker",
}
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_DEFAULT_ALLOWED = {"message_reaction", "message_reaction_count", "chat_member"}  # not sent unless asked
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _coerce(params: dict[str, Any]) -> JSON:
    """Bring form-encoded values (all strings) to their JSON types, as the Bot API server does."""
    out: JSON = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise bad_request(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            elif key in _FLOAT_FIELDS:
                try:
                    value = float(value)
                except ValueError as exc:
                    raise bad_request(f"invalid {key} specified") from exc
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
        out[key] = value
    return out


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":  # JPEG: walk the segments to the SOF marker
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker, size = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + size
    return 800, 600


_COMMAND_ENTITY_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,64})?")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}")
_URL_ENTITY_RE = re.compile(r"https?://[^\s]+|(?<![\w@/])t\.me/[^\s]+")


def detect_entities(text: str) -> list[JSON]:
    """Entities a Telegram client/server adds to a user's plain text: commands, @mentions, URLs."""
    found: list[JSON] = []
    for regex, kind in (
        (_COMMAND_ENTITY_RE, "bot_command"),
        (_MENTION_RE, "mention"),
        (_URL_ENTITY_RE, "url"),
    ):
        for m in regex.finditer(text):
            found.append(
                {"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
            )
    found.sort(key=lambda e: e["offset"])
    return found


class TelegramWorld:
    """The whole local Telegram for one bot."""

    def __init__(
        self,
        bot_id: int = 123456,
        bot_username: str = "RedButlerBot",
        *,
        bot_name: str = "红管家",
        flood_limits: bool = False,
        privacy_mode: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.flood_limits = flood_limits
        # privacy_mode: in groups where the bot is not an admin it only gets commands, mentions of it,
        # replies to its messages and service messages (Telegram's default for bots)
        self.privacy_mode = privacy_mode
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self.users: dict[int, JSON] = {}
        self._chats: dict[int, _Chat] = {}
        self._blocked: set[int] = set()
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._update_seq = itertools.count(100001)
        self._callback_seq = itertools.count(1)
        self._poll_seq = itertools.count(1)
        self._updates: list[JSON] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._faults: list[_Fault] = []
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._polls: dict[str, tuple[int, int]] = {}  # poll_id -> (chat_id, message_id)
        self._poll_votes: dict[str, dict[int, list[int]]] = {}
        self._flood_all: deque[float] = deque()
        self._flood_group: dict[int, deque[float]] = {}
        self._flood_private: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last time)
        self.calls: list[tuple[str, JSON]] = []
        self.commands: dict[CommandScopeKey, list[JSON]] = {}
        self.default_menu_button: JSON = {"type": "commands"}
        self.bot_texts: dict[str, str] = {}  # name / description / short_description per language
        self.webhook: JSON | None = None  # {"url", "secret_token", "allowed_updates", "max_connections"}
        self.webhook_last_error: tuple[int, str] | None = None
        self.allowed_updates: list[str] | None = None
        self.last_poll_at: float | None = None
        self._polling_now = 0
        self._poll_generation = 0
        self.listeners: list[Callable[[JSON], None]] = []
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}

    # ------------------------------------------------------------------------------------------------------
    # people and chats

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = True,
    ) -> JSON:
        """Add a person (and their private chat with the bot). ``started=False``: they never pressed Start,
        so the bot cannot write to them first (403)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = _Chat(id=user_id, type="private", started=started)
        else:
            chat.started = chat.started or started
        self._emit({"type": "user", "user": user})
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        owner: int | None = None,
        bot_member: bool = True,
        bot_admin: bool = False,
        username: str | None = None,
    ) -> JSON:
        """A supergroup (negative id). Admins are members too; ``bot_admin`` makes the bot an admin."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        admin_set = set(admins)
        member_set = set(members) | admin_set | ({owner} if owner else set())
        for uid in member_set:
            if uid not in self.users:
                raise ValueError(f"unknown user {uid}: add_user first")
        if bot_admin:
            admin_set.add(self.bot_id)
        self._chats[chat_id] = _Chat(
            id=chat_id,
            type="supergroup",
            title=title,
            username=username,
            members=member_set,
            admins=admin_set,
            owner=owner,
            bot_member=bot_member,
        )
        self._emit({"type": "chat", "chat_id": chat_id})
        return self._chat_json(self._chats[chat_id])

    def block_bot(self, user_id: int) -> None:
        self._blocked.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def chats_of(self, user_id: int) -> list[JSON]:
        """Chat JSON of the user's private chat and every group they are in."""
        chats = [self._chat_json(self._chats[user_id])] if user_id in self._chats else []
        chats += [
            self._chat_json(c) for c in self._chats.values() if c.type != "private" and user_id in c.members
        ]
        return chats

    def all_groups(self) -> list[JSON]:
        """Chat JSON of every group chat."""
        return [self._chat_json(c) for c in self._chats.values() if c.type != "private"]

    def chat_json(self, chat_id: int) -> JSON:
        return self._chat_json(self._chat_or_value_error(chat_id))

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard currently shown in the chat, if any."""
        return self._chat_or_value_error(chat_id).reply_keyboard

    # ------------------------------------------------------------------------------------------------------
    # observation

    def chat_history(self, chat_id: int) -> list[Message]:
        return list(self._chat_or_value_error(chat_id).history)

    def bot_messages(self, chat_id: int) -> list[Message]:
        return [m for m in self.chat_history(chat_id) if m.from_bot]

    def last_bot_message(self, chat_id: int) -> Message:
        msgs = [m for m in self.bot_messages(chat_id) if not m.deleted]
        if not msgs:
            raise AssertionError(f"the bot has sent nothing to chat {chat_id}")
        return msgs[-1]

    def message(self, chat_id: int, message_id: int) -> Message:
        for m in self._chat_or_value_error(chat_id).history:
            if m.message_id == message_id:
                return m
        raise ValueError(f"no message {message_id} in chat {chat_id}")

    def callback_answer(self, callback_query_id: str) -> JSON | None:
        cq = self._callbacks.get(callback_query_id)
        return cq.answer if cq else None

    def file_bytes(self, file_path: str) -> bytes | None:
        f = self._files_by_path.get(file_path)
        return f.data if f else None

    def stored_file(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def commands_for(self, user_id: int, chat_id: int | None = None) -> list[JSON]:
        """The command menu this user sees in this chat (Telegram's scope resolution order)."""
        chat_id = user_id if chat_id is None else chat_id
        lang = (self.users.get(user_id, {}).get("language_code") or "").split("-")[0]
        chat = self._chats.get(chat_id)
        if chat is None or chat.type == "private":
            scopes: list[tuple[str, int | None, int | None]] = [
                ("chat", chat_id, None),
                ("all_private_chats", None, None),
            ]
        else:
            is_admin = user_id in chat.admins or user_id == chat.owner
            scopes = [("chat_member", chat_id, user_id)]
            if is_admin:
                scopes.append(("chat_administrators", chat_id, None))
            scopes.append(("chat", chat_id, None))
            if is_admin:
                scopes.append(("all_chat_administrators", None, None))
            scopes.append(("all_group_chats", None, None))
        scopes.append(("default", None, None))
        for kind, cid, uid in scopes:
            for code in (lang, "") if lang else ("",):
                key = (kind, cid, uid, code)
                if key in self.commands:
                    return list(self.commands[key])
        return []

    def bot_connected(self, within: float = 10.0) -> bool:
        """Whether the bot is polling (or was in the last ``within`` seconds) or has a working webhook."""
        if self.webhook is not None:
            return self.webhook_last_error is None
        if self._polling_now > 0:
            return True
        return self.last_poll_at is not None and self._monotonic() - self.last_poll_at <= within

    # ------------------------------------------------------------------------------------------------------
    # updates

    def pending_updates(self) -> list[JSON]:
        return list(self._updates)

    def confirm_updates(self, up_to_update_id: int) -> None:
        """Forget updates with ids <= ``up_to_update_id`` (delivered)."""
        self._updates = [u for u in self._updates if u["update_id"] > up_to_update_id]

    def _filtered(self, allowed: list[str] | None) -> list[JSON]:
        def ok(update: JSON) -> bool:
            kind = next(k for k in update if k != "update_id")
            if allowed:
                return kind in allowed
            return kind not in _DEFAULT_ALLOWED

        keep = [u for u in self._updates if ok(u)]
        self._updates = keep
        return keep

    def take_updates(self) -> list[JSON]:
        """Remove and return every queued update the bot would receive (for harnesses that feed
        ``Application.process_update`` directly instead of polling)."""
        updates = self.deliverable_updates()
        self._updates = []
        return updates

    async def wait_for_bot_message(
        self, chat_id: int, *, after: int = 0, timeout: float = 5.0, text_contains: str | None = None
    ) -> Message:
        """Wait until the bot has sent a message with message_id > ``after`` (and containing
        ``text_contains``) to the chat; AssertionError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for m in self._chat_or_value_error(chat_id).history:
                if (
                    m.from_bot
                    and not m.deleted
                    and m.message_id > after
                    and (text_contains is None or text_contains in (m.text or ""))
                ):
                    return m
            if loop.time() >= deadline:
                got = [m.text for m in self.bot_messages(chat_id) if m.message_id > after]
                raise AssertionError(
                    f"no bot message in chat {chat_id} after #{after} within {timeout}s: {got}"
                )
            await asyncio.sleep(0.01)

    def deliverable_updates(self) -> list[JSON]:
        """Queued updates the bot asked for (allowed_updates), oldest first; drops the others."""
        return list(self._filtered(self.allowed_updates))

    async def wait_for_update(self, timeout: float) -> bool:
        """Wait until an update is queued (True) or the timeout passes (False)."""
        if self._updates:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return bool(self._updates)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)

    async def get_updates(
        self,
        offset: int = 0,
        limit: int = 100,
        timeout: float = 0.0,
        allowed_updates: list[str] | None = None,
    ) -> list[JSON]:
        if allowed_updates is not None:
            self.allowed_updates = list(allowed_updates)
        if offset < 0:
            keep = self._updates[offset:]
            self._updates = keep
        elif offset:
            self.confirm_updates(offset - 1)
        limit = max(1, min(int(limit or 100), 100))
        self.last_poll_at = self._monotonic()
        self._polling_now += 1
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll still waiting is terminated, as Telegram does
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(0.0, float(timeout))
            while True:
                if generation != self._poll_generation:
                    raise BotApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                ready = self._filtered(self.allowed_updates)
                if ready:
                    return ready[:limit]
                remaining = deadline - loop.time()
                if remaining <= 0 or self.webhook is not None:
                    return []
                await self.wait_for_update(min(remaining, 1.0))
        finally:
            self._polling_now -= 1
            self.last_poll_at = self._monotonic()

    def _push_update(self, kind: str, payload: JSON, *, deliver: bool = True) -> JSON:
        update = {"update_id": next(self._update_seq), kind: payload}
        if deliver:
            self._updates.append(update)
            for fut in list(self._waiters):
                if not fut.done():
                    fut.get_loop().call_soon_threadsafe(_resolve, fut)
        return update

    # ------------------------------------------------------------------------------------------------------
    # what users do

    def user_sends_text(
        self, user_id: int, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> JSON:
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        msg = self._user_message(
            user_id, chat_id, "text", text=text, entities=detect_entities(text), reply_to=reply_to
        )
        return self._deliver_user_message(msg)

    def user_sends_photo(
        self, user_id: int, *, chat_id: int | None = None, caption: str | None = None, data: bytes = TINY_PNG
    ) -> JSON:
        photo = self._photo_sizes(self._store_file(data, "image/jpeg", "photos", "jpg"), data)
        msg = self._user_message(
            user_id,
            chat_id,
            "photo",
            text=caption,
            entities=detect_entities(caption) if caption else [],
            photo=photo,
        )
        return self._deliver_user_message(msg)

    def user_sends_document(
        self,
        user_id: int,
        *,
        filename: str,
        data: bytes,
        mime_type: str,
        chat_id: int | None = None,
        caption: str | None = None,
    ) -> JSON:
        stored = self._store_file(
            data,
            mime_type,
            "documents",
            filename.rsplit(".", 1)[-1] if "." in filename else "bin",
            file_name=filename,
        )
        doc = {
            "file_name": filename,
            "mime_type": mime_type,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
        }
        msg = self._user_message(user_id, chat_id, "document", text=caption, document=doc)
        return self._deliver_user_message(msg)

    def user_sends_contact(
        self, user_id: int, phone_number: str, *, chat_id: int | None = None, own: bool = True
    ) -> JSON:
        """Share a phone number; ``own`` (the default, as the request_contact button does) sets user_id."""
        user = self._user(user_id)
        contact: JSON = {"phone_number": phone_number, "first_name": user["first_name"]}
        if user.get("last_name"):
            contact["last_name"] = user["last_name"]
        if own:
            contact["user_id"] = user_id
        msg = self._user_message(user_id, chat_id, "contact", contact=contact)
        return self._deliver_user_message(msg)

    def user_sends_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> JSON:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must be within ±90 and longitude within ±180")
        msg = self._user_message(
            user_id,
            chat_id,
            "location",
            location={"latitude": float(latitude), "longitude": float(longitude)},
        )
        return self._deliver_user_message(msg)

    def user_presses(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> JSON:
        """Press the inline button with this callback_data under the bot's message."""
        chat = self._chat_for_user(user_id, chat_id)
        msg = self.message(chat.id, message_id)
        if msg.deleted or not msg.from_bot:
            raise ValueError(f"message {message_id} in chat {chat.id} is gone or not the bot's")
        if not any(b.get("callback_data") == callback_data for row in msg.buttons for b in row):
            raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}")
        return self._callback_update(user_id, chat, msg, callback_data)

    def user_sends_callback(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> JSON:
        """A callback query with arbitrary data on the bot's message, as an old or tampered client could
        send: no check that such a button exists (the message must exist, may have been deleted)."""
        chat = self._chat_for_user(user_id, chat_id)
        msg = self.message(chat.id, message_id)
        return self._callback_update(user_id, chat, msg, callback_data)

    def _callback_update(self, user_id: int, chat: _Chat, msg: Message, callback_data: str) -> JSON:
        message_id = msg.message_id
        cq_id = str(4_000_000_000_000_000 + next(self._callback_seq))
        self._callbacks[cq_id] = _CallbackQuery(cq_id, user_id, chat.id, message_id, callback_data)
        payload = {
            "id": cq_id,
            "from": self._user(user_id),
            "message": self.message_json(msg),
            "chat_instance": str(abs(chat.id) * 7 + 13),
            "data": callback_data,
        }
        self._emit({"type": "press", "chat_id": chat.id, "message_id": message_id, "user_id": user_id})
        return self._push_update("callback_query", payload, deliver=self._bot_receives(chat))

    def user_presses_button(self, user_id: int, message: Message, text: str) -> JSON:
        """Press the inline button whose text is (or contains) ``text`` under ``message``."""
        button = message.find_button(text)
        if "callback_data" not in button:
            raise ValueError(f"button {text!r} is not a callback button: {button}")
        return self.user_presses(
            user_id, message.message_id, button["callback_data"], chat_id=message.chat_id
        )

    def user_opens_deep_link(self, user_id: int, payload: str) -> JSON:
        if not _PAYLOAD_RE.match(payload):
            raise ValueError("a start payload is 1-64 characters of A-Z, a-z, 0-9, _ and -")
        text = f"/start {payload}"
        msg = self._user_message(
            user_id, None, "text", text=text, entities=[{"type": "bot_command", "offset": 0, "length": 6}]
        )
        return self._deliver_user_message(msg)

    def user_answers_poll(
        self, user_id: int, message_id: int, option_ids: list[int], *, chat_id: int | None = None
    ) -> JSON:
        chat = self._chat_for_user(user_id, chat_id)
        msg = self.message(chat.id, message_id)
        if msg.poll is None or msg.deleted:
            raise ValueError(f"message {message_id} is not a poll")
        poll = msg.poll
        if poll["is_closed"]:
            raise ValueError("the poll is closed")
        if any(not 0 <= o < len(poll["options"]) for o in option_ids):
            raise ValueError("no such option")
        if len(option_ids) > 1 and not poll.get("allows_multiple_answers"):
            raise ValueError("this poll takes one answer")
        votes = self._poll_votes.setdefault(poll["id"], {})
        votes[user_id] = list(option_ids)
        for i, opt in enumerate(poll["options"]):
            opt["voter_count"] = sum(1 for v in votes.values() if i in v)
        poll["total_voter_count"] = sum(1 for v in votes.values() if v)
        self._emit({"type": "edit", "chat_id": chat.id, "message": self._ui_message(msg)})
        deliver = self._bot_receives(chat, any_message=True)
        self._push_update("poll", json.loads(json.dumps(poll)), deliver=deliver)
        if not poll["is_anonymous"]:
            return self._push_update(
                "poll_answer",
                {
                    "poll_id": poll["id"],
                    "user": self._user(user_id),
                    "option_ids": list(option_ids),
                    "option_persistent_ids": [str(o) for o in option_ids],
                },
                deliver=deliver,
            )
        return {"update_id": 0, "poll": poll}

    def user_joins_group(self, user_id: int, chat_id: int) -> JSON:
        chat = self._chat_or_value_error(chat_id)
        user = self._user(user_id)
        chat.members.add(user_id)
        deliver = chat.bot_member
        self._push_update(
            "chat_member",
            {
                "chat": self._chat_json(chat),
                "from": user,
                "date": self._now(),
                "old_chat_member": {"status": "left", "user": user},
                "new_chat_member": {"status": "member", "user": user},
            },
            deliver=deliver,
        )
        msg = self._new_message(
            chat, from_user_id=user_id, kind="service", extra={"new_chat_members": [user]}
        )
        return self._push_update("message", self.message_json(msg), deliver=deliver)

    def user_leaves_group(self, user_id: int, chat_id: int) -> JSON:
        chat = self._chat_or_value_error(chat_id)
        user = self._user(user_id)
        chat.members.discard(user_id)
        chat.admins.discard(user_id)
        deliver = chat.bot_member
        self._push_update(
            "chat_member",
            {
                "chat": self._chat_json(chat),
                "from": user,
                "date": self._now(),
                "old_chat_member": {"status": "member", "user": user},
                "new_chat_member": {"status": "left", "user": user},
            },
            deliver=deliver,
        )
        msg = self._new_message(chat, from_user_id=user_id, kind="service", extra={"left_chat_member": user})
        return self._push_update("message", self.message_json(msg), deliver=deliver)

    def bot_promoted(self, by_user_id: int, chat_id: int) -> JSON:
        """A group admin makes the bot an admin (with every right, pinning included); returns the update."""
        chat = self._chat_or_value_error(chat_id)
        old = self._member_json(chat, self.bot_id)
        chat.admins.add(self.bot_id)
        return self._push_update(
            "my_chat_member",
            {
                "chat": self._chat_json(chat),
                "from": self._user(by_user_id),
                "date": self._now(),
                "old_chat_member": old,
                "new_chat_member": self._member_json(chat, self.bot_id),
            },
        )

    def bot_added_to_group(self, by_user_id: int, chat_id: int) -> JSON:
        """Returns the my_chat_member update; a new_chat_members message follows it in the queue."""
        chat = self._chat_or_value_error(chat_id)
        by = self._user(by_user_id)
        chat.bot_member = True
        update = self._push_update(
            "my_chat_member",
            {
                "chat": self._chat_json(chat),
                "from": by,
                "date": self._now(),
                "old_chat_member": {"status": "left", "user": self.bot_user},
                "new_chat_member": {"status": "member", "user": self.bot_user},
            },
        )
        msg = self._new_message(
            chat, from_user_id=by_user_id, kind="service", extra={"new_chat_members": [self.bot_user]}
        )
        self._push_update("message", self.message_json(msg))
        return update

    def user_replies_keyboard(self, user_id: int, button_text: str, *, chat_id: int | None = None) -> JSON:
        """Press a reply-keyboard button: sends its text, or the contact/location it requests."""
        chat = self._chat_for_user(user_id, chat_id)
        kb = chat.reply_keyboard
        if not kb:
            raise ValueError(f"no reply keyboard in chat {chat.id}")
        for row in kb["keyboard"]:
            for b in row:
                text = b if isinstance(b, str) else b["text"]
                if text != button_text:
                    continue
                if isinstance(b, dict) and b.get("request_contact"):
                    raise ValueError("this button shares a phone number: use user_sends_contact")
                if isinstance(b, dict) and b.get("request_location"):
                    raise ValueError("this button shares a location: use user_sends_location")
                return self.user_sends_text(
                    user_id, text, chat_id=chat.id if chat.type != "private" else None
                )
        raise ValueError(f"no reply keyboard button {button_text!r}")

    # ------------------------------------------------------------------------------------------------------
    # faults

    def inject_fault(
        self,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        kind: FaultKind,
        count: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``count`` matching calls fail.

        ``method=None`` matches every method except getUpdates/getMe (name those explicitly).
        5xx: 500 "Internal Server Error"; 429: "Too Many Requests: retry after N"; drop: the connection is
        closed without an answer (ConnectionDropped; PTB sees NetworkError); delay: the call takes effect
        and its answer comes ``delay`` seconds later (a client with a shorter timeout gets TimedOut although
        the message was sent, as with the real Telegram).
        """
        if kind not in ("5xx", "429", "drop", "delay"):
            raise ValueError(f"unknown fault kind {kind!r}")
        self._faults.append(_Fault(kind, method, chat_id, count, retry_after, delay))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, params: JSON) -> _Fault | None:
        for fault in self._faults:
            if fault.method is None and method in ("getUpdates", "getMe"):
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
            return fault
        return None

    # ------------------------------------------------------------------------------------------------------
    # the Bot API

    async def call(
        self, method: str, params: dict[str, Any] | None = None, files: dict[str, FileTuple] | None = None
    ) -> Any:
        """Run one Bot API method; returns the ``result`` or raises BotApiError / ConnectionDropped."""
        params = _coerce(params or {})
        files = files or {}
        if method != "getUpdates":
            self.calls.append((method, params))
        fault = self._take_fault(method, params)
        if fault is not None and fault.kind != "delay":
            if fault.kind == "drop":
                raise ConnectionDropped(method)
            if fault.kind == "5xx":
                raise BotApiError(500, "Internal Server Error")
            raise BotApiError(429, f"Too Many Requests: retry after {fault.retry_after}", fault.retry_after)
        handler = self._handlers().get(method.lower())
        if handler is None:
            raise BotApiError(404, "Not Found")
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        if fault is not None and fault.delay > 0:
            await asyncio.sleep(fault.delay)
        return result

    def _handlers(self) -> dict[str, Callable[[JSON, dict[str, FileTuple]], Any]]:
        names = [
            "getMe",
            "getUpdates",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "sendMessage",
            "editMessageText",
            "editMessageCaption",
            "editMessageReplyMarkup",
            "deleteMessage",
            "deleteMessages",
            "answerCallbackQuery",
            "sendPhoto",
            "sendDocument",
            "sendMediaGroup",
            "getFile",
            "sendLocation",
            "sendVenue",
            "sendContact",
            "sendPoll",
            "stopPoll",
            "sendChatAction",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "setChatMenuButton",
            "getChatMenuButton",
            "getChat",
            "getChatMember",
            "getChatAdministrators",
            "getChatMemberCount",
            "pinChatMessage",
            "unpinChatMessage",
            "unpinAllChatMessages",
            "leaveChat",
            "copyMessage",
            "forwardMessage",
            "setMyDescription",
            "getMyDescription",
            "setMyShortDescription",
            "getMyShortDescription",
            "setMyName",
            "getMyName",
            "close",
            "logOut",
            "setMessageReaction",
        ]
        return {n.lower(): getattr(self, "_m_" + n) for n in names}

    # --- bot identity and updates ------------------------------------------------------------------------

    def _m_getMe(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_getUpdates(self, p: JSON, f: dict[str, FileTuple]) -> list[JSON]:
        if self.webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        return await self.get_updates(
            int(p.get("offset", 0)),
            int(p.get("limit", 100)),
            float(p.get("timeout", 0)),
            p.get("allowed_updates"),
        )

    def _m_setWebhook(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        url = p.get("url", "")
        if not url:
            return self._m_deleteWebhook(p, f)
        if not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": p.get("allowed_updates"),
            "max_connections": p.get("max_connections", 40),
        }
        if p.get("allowed_updates") is not None:
            self.allowed_updates = list(p["allowed_updates"])
        self.webhook_last_error = None
        self._wake()
        return True

    def _m_deleteWebhook(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        self.webhook = None
        self.webhook_last_error = None
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._wake()
        return True

    def _m_getWebhookInfo(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        info: JSON = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    def _m_close(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        return True

    def _m_logOut(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        return True

    # --- sending -------------------------------------------------------------------------------------------

    def _m_sendMessage(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        raw = p.get("text")
        if raw is None:
            raise bad_request("message text is empty")
        text, entities = self._formatted(str(raw), p.get("parse_mode"), p.get("entities"), "text")
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._markup(p, chat)
        reply_to = self._reply_target(p, chat)
        self._flood_check(chat)
        msg = self._new_message(
            chat,
            from_bot=True,
            kind="text",
            text=text,
            entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return self.message_json(msg)

    def _m_sendPhoto(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        data, stored = self._input_file(p, f, "photo", "image/jpeg", "photos", "jpg")
        caption, entities = self._caption(p)
        markup = self._markup(p, chat)
        reply_to = self._reply_target(p, chat)
        self._flood_check(chat)
        msg = self._new_message(
            chat,
            from_bot=True,
            kind="photo",
            text=caption,
            entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
            photo=self._photo_sizes(stored, data),
        )
        return self.message_json(msg)

    def _m_sendDocument(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        _, stored = self._input_file(p, f, "document", "application/octet-stream", "documents", "bin")
        caption, entities = self._caption(p)
        markup = self._markup(p, chat)
        reply_to = self._reply_target(p, chat)
        self._flood_check(chat)
        doc: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "mime_type": stored.mime_type,
        }
        if stored.file_name:
            doc["file_name"] = stored.file_name
        msg = self._new_message(
            chat,
            from_bot=True,
            kind="document",
            text=caption,
            entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
            document=doc,
        )
        return self.message_json(msg)

    def _m_sendMediaGroup(self, p: JSON, f: dict[str, FileTuple]) -> list[JSON]:
        chat = self._target_chat(p)
        media = p.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album")
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document", "video", "audio"):
                raise bad_request("can't parse InputMedia JSON object")
            kind = "photo" if item["type"] == "photo" else "document"
            data, stored = self._input_file(
                {kind: item.get("media")},
                f,
                kind,
                "image/jpeg" if kind == "photo" else "application/octet-stream",
                kind + "s",
                "jpg" if kind == "photo" else "bin",
            )
            caption, entities = self._caption(item)
            prepared.append((kind, data, stored, caption, entities))
        self._flood_check(chat)
        group_id = str(10**17 + next(self._file_seq))
        out = []
        for kind, data, stored, caption, entities in prepared:
            kw: JSON = (
                {"photo": self._photo_sizes(stored, data)}
                if kind == "photo"
                else {
                    "document": {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "file_size": len(stored.data),
                        "mime_type": stored.mime_type,
                    }
                }
            )
            msg = self._new_message(
                chat,
                from_bot=True,
                kind=kind,
                text=caption,
                entities=entities,
                extra={"media_group_id": group_id},
                **kw,
            )
            out.append(self.message_json(msg))
        return out

    def _m_sendLocation(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        lat, lon = p.get("latitude"), p.get("longitude")
        if (
            not isinstance(lat, int | float)
            or not isinstance(lon, int | float)
            or not (-90 <= lat <= 90 and -180 <= lon <= 180)
        ):
            raise bad_request(
                "wrong latitude or longitude specified" if lat is not None else "latitude is not specified"
            )
        markup = self._markup(p, chat)
        self._flood_check(chat)
        msg = self._new_message(
            chat,
            from_bot=True,
            kind="location",
            reply_markup=markup,
            location={"latitude": float(lat), "longitude": float(lon)},
            reply_to=self._reply_target(p, chat),
        )
        return self.message_json(msg)

    def _m_sendVenue(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        loc = {"latitude": float(p.get("latitude", 0)), "longitude": float(p.get("longitude", 0))}
        if not p.get("title") or not p.get("address"):
            raise bad_request("venue title or address is empty")
        markup = self._markup(p, chat)
        self._flood_check(chat)
        msg = self._new_message(
            chat,
            from_bot=True,
            kind="venue",
            text=p["title"],
            reply_markup=markup,
            location=loc,
            extra={"venue": {"location": loc, "title": p["title"], "address": p["address"]}},
        )
        return self.message_json(msg)

    def _m_sendContact(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad_request("phone number or first name is empty")
        contact = {k: p[k] for k in ("phone_number", "first_name", "last_name") if p.get(k)}
        markup = self._markup(p, chat)
        self._flood_check(chat)
        msg = self._new_message(chat, from_bot=True, kind="contact", contact=contact, reply_markup=markup)
        return self.message_json(msg)

    def _m_sendPoll(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        question = str(p.get("question", "")).strip()
        if not question:
            raise bad_request("poll question must be non-empty")
        if len(question) > 300:
            raise bad_request("poll question is too long")
        options_in = p.get("options")
        if not isinstance(options_in, list):
            raise bad_request("can't parse options JSON object")
        options: list[JSON] = []
        for o in options_in:
            text = o.get("text") if isinstance(o, dict) else o
            if not isinstance(text, str) or not text.strip() or len(text) > 100:
                raise bad_request("poll options length must not exceed 100")
            options.append({"text": text, "voter_count": 0, "persistent_id": str(len(options))})
        if len(options) < 2:
            raise bad_request("poll must have at least 2 option")
        if len(options) > 12:
            raise bad_request("poll can't have more than 12 options")
        poll_type = p.get("type", "regular")
        if poll_type not in ("regular", "quiz"):
            raise bad_request("poll type is invalid")
        if poll_type == "quiz" and not isinstance(p.get("correct_option_id"), int):
            raise bad_request("wrong correct option ID specified")
        markup = self._markup(p, chat)
        self._flood_check(chat)
        poll_id = str(5_000_000_000_000_000 + next(self._poll_seq))
        poll: JSON = {
            "id": poll_id,
            "question": question,
            "options": options,
            "total_voter_count": 0,
            "is_closed": bool(p.get("is_closed", False)),
            "is_anonymous": p.get("is_anonymous", True),
            "type": poll_type,
            "allows_multiple_answers": bool(p.get("allows_multiple_answers", False)),
            "allows_revoting": True,
            "members_only": False,
        }
        if poll_type == "quiz":
            poll["correct_option_id"] = p["correct_option_id"]
        msg = self._new_message(chat, from_bot=True, kind="poll", poll=poll, reply_markup=markup)
        self._polls[poll_id] = (chat.id, msg.message_id)
        return self.message_json(msg)

    def _m_stopPoll(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p, sending=False)
        msg = self._find(chat, p.get("message_id"))
        if msg is None or msg.poll is None:
            raise bad_request("message with poll to stop not found")
        if msg.poll["is_closed"]:
            raise bad_request("poll has already been closed")
        msg.poll["is_closed"] = True
        self._emit({"type": "edit", "chat_id": chat.id, "message": self._ui_message(msg)})
        return dict(msg.poll)

    def _m_sendChatAction(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._emit({"type": "action", "chat_id": chat.id, "action": p["action"]})
        return True

    def _m_copyMessage(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        src = self._copy_source(p, "copy")
        chat = self._target_chat(p)
        if src.kind == "service" or (src.poll is not None and not src.poll.get("is_anonymous", True)):
            raise bad_request("message can't be copied")
        text, entities = src.text, src.entities
        if "caption" in p and src.kind != "text":
            text, entities = self._caption(p)
        markup = self._markup(p, chat)
        self._flood_check(chat)
        msg = self._new_message(
            chat,
            from_bot=True,
            kind=src.kind,
            text=text,
            entities=list(entities),
            reply_markup=markup,
            photo=src.photo,
            document=src.document,
            location=src.location,
            contact=src.contact,
            poll=json.loads(json.dumps(src.poll)) if src.poll else None,
        )
        return {"message_id": msg.message_id}

    def _m_forwardMessage(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        src = self._copy_source(p, "forward")
        chat = self._target_chat(p)
        if src.kind == "service":
            raise bad_request("message can't be forwarded")
        self._flood_check(chat)
        origin: JSON
        if src.from_bot:
            origin = {"type": "user", "sender_user": self.bot_user, "date": src.date}
        else:
            origin = {"type": "user", "sender_user": self._user(src.from_user_id or 0), "date": src.date}
        msg = self._new_message(
            chat,
            from_bot=True,
            kind=src.kind,
            text=src.text,
            entities=list(src.entities),
            photo=src.photo,
            document=src.document,
            location=src.location,
            contact=src.contact,
            poll=src.poll,
            extra={"forward_origin": origin},
        )
        return self.message_json(msg)

    # --- editing -------------------------------------------------------------------------------------------

    def _m_editMessageText(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat, msg = self._editable(p)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw = p.get("text")
        if raw is None:
            raise bad_request("message text is empty")
        text, entities = self._formatted(str(raw), p.get("parse_mode"), p.get("entities"), "text")
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = self._markup(p, chat, inline_only=True)
        return self._apply_edit(chat, msg, text, entities, markup)

    def _m_editMessageCaption(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat, msg = self._editable(p)
        if msg.kind not in ("photo", "document"):
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._caption(p)
        markup = self._markup(p, chat, inline_only=True)
        return self._apply_edit(chat, msg, caption, entities, markup)

    def _m_editMessageReplyMarkup(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat, msg = self._editable(p)
        markup = self._markup(p, chat, inline_only=True)
        return self._apply_edit(chat, msg, msg.text, msg.entities, markup)

    def _apply_edit(
        self, chat: _Chat, msg: Message, text: str | None, entities: list[JSON], markup: JSON | None
    ) -> JSON:
        old_markup = msg.reply_markup if msg.reply_markup and "inline_keyboard" in msg.reply_markup else None
        if text == msg.text and entities == msg.entities and _same_markup(markup, old_markup):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.text, msg.entities, msg.reply_markup = text, entities, markup
        msg.edited += 1
        msg.edit_date = self._now()
        self._emit({"type": "edit", "chat_id": chat.id, "message": self._ui_message(msg)})
        return self.message_json(msg)

    def _m_deleteMessage(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p, sending=False)
        msg = self._find(chat, p.get("message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        if chat.type != "private" and not msg.from_bot and self.bot_id not in chat.admins:
            raise bad_request("message can't be deleted")
        msg.deleted = True
        self._emit({"type": "delete", "chat_id": chat.id, "message_id": msg.message_id})
        return True

    def _m_deleteMessages(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p, sending=False)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for mid in ids:
            msg = self._find(chat, mid)
            if msg is not None and not msg.deleted:
                msg.deleted = True
                self._emit({"type": "delete", "chat_id": chat.id, "message_id": msg.message_id})
        return True

    def _m_answerCallbackQuery(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        cq = self._callbacks.get(str(p.get("callback_query_id", "")))
        if cq is None or cq.answered:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        cq.answered = True
        cq.answer = {k: p[k] for k in ("text", "show_alert", "url", "cache_time") if k in p}
        self._emit(
            {
                "type": "callback_answer",
                "chat_id": cq.chat_id,
                "user_id": cq.user_id,
                "message_id": cq.message_id,
                "answer": cq.answer,
            }
        )
        return True

    def _m_setMessageReaction(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p, sending=False)
        if self._find(chat, p.get("message_id")) is None:
            raise bad_request("message to react not found")
        return True

    # --- files ---------------------------------------------------------------------------------------------

    def _m_getFile(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        stored = self._files.get(str(p.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # --- commands and bot settings -------------------------------------------------------------------------

    def _scope_key(self, p: JSON) -> CommandScopeKey:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in (
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        ):
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = scope["type"]
        chat_id = user_id = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._chat_by_ref(scope.get("chat_id"))
            chat_id = chat.id
            if kind == "chat_administrators" and chat.type == "private":
                raise bad_request("can't use chat_administrators scope in private chats")
            if kind == "chat_member":
                if chat.type == "private":
                    raise bad_request("can't use chat_member scope in private chats")
                user_id = int(scope.get("user_id", 0))
                if user_id not in self.users:
                    raise bad_request("user not found")
        lang = str(p.get("language_code") or "")
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise bad_request("invalid language code specified")
        return (kind, chat_id, user_id, lang)

    def _m_setMyCommands(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        clean = []
        for c in commands:
            if not isinstance(c, dict) or not _COMMAND_RE.match(str(c.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            desc = str(c.get("description", ""))
            if not 1 <= len(desc) <= 256:
                raise bad_request(
                    "command description must be non-empty" if not desc else "command description is too long"
                )
            clean.append({"command": c["command"], "description": desc})
        key = self._scope_key(p)
        if clean:
            self.commands[key] = clean
        else:
            self.commands.pop(key, None)
        self._emit({"type": "commands"})
        return True

    def _m_getMyCommands(self, p: JSON, f: dict[str, FileTuple]) -> list[JSON]:
        return list(self.commands.get(self._scope_key(p), []))

    def _m_deleteMyCommands(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        self.commands.pop(self._scope_key(p), None)
        self._emit({"type": "commands"})
        return True

    def _m_setChatMenuButton(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button JSON object")
        if "chat_id" in p:
            chat = self._chat_by_ref(p["chat_id"])
            if chat.type != "private":
                raise bad_request("chat is not private")
            chat.menu_button = button
        else:
            self.default_menu_button = button
        return True

    def _m_getChatMenuButton(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        if "chat_id" in p:
            chat = self._chat_by_ref(p["chat_id"])
            if chat.menu_button and chat.menu_button.get("type") != "default":
                return chat.menu_button
        return (
            self.default_menu_button
            if self.default_menu_button.get("type") != "default"
            else {"type": "commands"}
        )

    def _bot_text(self, kind: str, p: JSON) -> bool:
        value = str(p.get(kind, ""))
        limit = {"name": 64, "description": 512, "short_description": 120}[kind]
        if len(value) > limit:
            raise bad_request(f"bot {kind.replace('_', ' ')} is too long")
        self.bot_texts[f"{kind}:{p.get('language_code', '')}"] = value
        return True

    def _get_bot_text(self, kind: str, p: JSON) -> JSON:
        value = self.bot_texts.get(f"{kind}:{p.get('language_code', '')}") or self.bot_texts.get(
            f"{kind}:", ""
        )
        if kind == "name" and not value:
            value = self.bot_name
        return {kind: value}

    def _m_setMyDescription(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        return self._bot_text("description", p)

    def _m_getMyDescription(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        return self._get_bot_text("description", p)

    def _m_setMyShortDescription(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        return self._bot_text("short_description", p)

    def _m_getMyShortDescription(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        return self._get_bot_text("short_description", p)

    def _m_setMyName(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        return self._bot_text("name", p)

    def _m_getMyName(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        return self._get_bot_text("name", p)

    # --- chats ---------------------------------------------------------------------------------------------

    def _m_getChat(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._chat_by_ref(p.get("chat_id"))
        if chat.type != "private" and not chat.bot_member:
            raise bad_request("chat not found")
        info = self._chat_json(chat)
        info.update(
            {
                "accent_color_id": chat.id % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        pinned = [m for m in chat.history if m.pinned and not m.deleted]
        if pinned:
            info["pinned_message"] = self.message_json(pinned[-1])
        if chat.description:
            info["description"] = chat.description
        return info

    def _member_json(self, chat: _Chat, user_id: int) -> JSON:
        user = self.bot_user if user_id == self.bot_id else self._user_or_400(user_id)
        if chat.type == "private":
            return {"status": "member", "user": user}
        if user_id == chat.owner:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in chat.admins:
            rights = dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                ),
                True,
            )
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": user_id == self.bot_id,
                "is_anonymous": False,
                "can_promote_members": False,
                **rights,
            }
        if user_id in chat.members or (user_id == self.bot_id and chat.bot_member):
            return {"status": "member", "user": user}
        return {"status": "left", "user": user}

    def _m_getChatMember(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._chat_by_ref(p.get("chat_id"))
        user_id = p.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        if chat.type == "private" and user_id not in (chat.id, self.bot_id):
            raise bad_request("user not found")
        return self._member_json(chat, user_id)

    def _m_getChatAdministrators(self, p: JSON, f: dict[str, FileTuple]) -> list[JSON]:
        chat = self._chat_by_ref(p.get("chat_id"))
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner else []) + sorted(chat.admins - {chat.owner})
        return [self._member_json(chat, uid) for uid in ids if uid is not None]

    def _m_getChatMemberCount(self, p: JSON, f: dict[str, FileTuple]) -> int:
        chat = self._chat_by_ref(p.get("chat_id"))
        if chat.type == "private":
            return 2
        return len(chat.members) + (1 if chat.bot_member else 0)

    def _m_pinChatMessage(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p)
        if chat.type != "private" and self.bot_id not in chat.admins:
            raise bad_request("not enough rights to manage pinned messages in the chat")
        msg = self._find(chat, p.get("message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to pin not found")
        msg.pinned = True
        self._emit({"type": "edit", "chat_id": chat.id, "message": self._ui_message(msg)})
        return True

    def _m_unpinChatMessage(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p, sending=False)
        if chat.type != "private" and self.bot_id not in chat.admins:
            raise bad_request("not enough rights to manage pinned messages in the chat")
        if p.get("message_id") is not None:
            msg = self._find(chat, p.get("message_id"))
            if msg is None or not msg.pinned:
                raise bad_request("message to unpin not found")
        else:
            pinned = [m for m in chat.history if m.pinned]
            if not pinned:
                raise bad_request("message to unpin not found")
            msg = pinned[-1]
        msg.pinned = False
        self._emit({"type": "edit", "chat_id": chat.id, "message": self._ui_message(msg)})
        return True

    def _m_unpinAllChatMessages(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._target_chat(p, sending=False)
        for m in chat.history:
            m.pinned = False
        return True

    def _m_leaveChat(self, p: JSON, f: dict[str, FileTuple]) -> bool:
        chat = self._chat_by_ref(p.get("chat_id"))
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        if not chat.bot_member:
            raise BotApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        chat.bot_member = False
        chat.admins.discard(self.bot_id)
        self._push_update(
            "my_chat_member",
            {
                "chat": self._chat_json(chat),
                "from": self.bot_user,
                "date": self._now(),
                "old_chat_member": {"status": "member", "user": self.bot_user},
                "new_chat_member": {"status": "left", "user": self.bot_user},
            },
        )
        return True

    # ------------------------------------------------------------------------------------------------------
    # helpers

    def _now(self) -> int:
        return int(self._wall_clock())

    def _emit(self, event: JSON) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # an observer must never break the Bot API
                log.exception("emulator listener failed")

    def _wake(self) -> None:
        for fut in list(self._waiters):
            if not fut.done():
                fut.get_loop().call_soon_threadsafe(_resolve, fut)

    def _user(self, user_id: int) -> JSON:
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id}: add_user first")
        return self.users[user_id]

    def _user_or_400(self, user_id: int) -> JSON:
        if user_id not in self.users:
            raise bad_request("user not found")
        return self.users[user_id]

    def _chat_or_value_error(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            raise ValueError(f"unknown chat {chat_id}")
        return self._chats[chat_id]

    def _chat_for_user(self, user_id: int, chat_id: int | None) -> _Chat:
        self._user(user_id)
        chat = self._chat_or_value_error(user_id if chat_id is None else chat_id)
        if chat.type == "private" and chat.id != user_id:
            raise ValueError(f"chat {chat.id} is another person's private chat")
        if chat.type != "private" and user_id not in chat.members:
            raise ValueError(f"user {user_id} is not a member of chat {chat.id}: user_joins_group first")
        return chat

    def _chat_by_ref(self, ref: Any) -> _Chat:
        if isinstance(ref, str) and ref.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == ref[1:].lower():
                    return chat
            raise bad_request("chat not found")
        if isinstance(ref, str) and re.fullmatch(r"-?\d+", ref):
            ref = int(ref)
        if not isinstance(ref, int):
            raise bad_request("chat_id is empty" if ref in (None, "") else "chat not found")
        found = self._chats.get(ref)
        if found is None:
            raise bad_request("chat not found")
        return found

    def _target_chat(self, p: JSON, *, sending: bool = True) -> _Chat:
        chat = self._chat_by_ref(p.get("chat_id"))
        if chat.type == "private":
            if chat.id in self._blocked:
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            if sending and not chat.started:
                raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif not chat.bot_member:
            raise BotApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    def _bot_receives(self, chat: _Chat, *, any_message: bool = False) -> bool:
        return chat.type == "private" or chat.bot_member

    def _find(self, chat: _Chat, message_id: Any) -> Message | None:
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        for m in chat.history:
            if m.message_id == message_id:
                return m
        return None

    def _editable(self, p: JSON) -> tuple[_Chat, Message]:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(p, sending=False)
        msg = self._find(chat, p.get("message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _copy_source(self, p: JSON, verb: str) -> Message:
        src_chat = self._chat_by_ref(p.get("from_chat_id"))
        msg = self._find(src_chat, p.get("message_id"))
        if msg is None or msg.deleted:
            raise bad_request(f"message to {verb} not found")
        return msg

    def _formatted(
        self, raw: str, parse_mode: str | None, entities: Any, what: str
    ) -> tuple[str, list[JSON]]:
        if entities and not parse_mode:
            if not isinstance(entities, list):
                raise bad_request("can't parse entities JSON object")
            return raw, [dict(e) for e in entities]
        try:
            return parse_formatted(raw, parse_mode)
        except UnsupportedParseMode as exc:
            raise bad_request(f"unsupported parse_mode {exc}") from exc
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc

    def _caption(self, p: JSON) -> tuple[str | None, list[JSON]]:
        raw = p.get("caption")
        if raw is None or raw == "":
            return None, []
        text, entities = self._formatted(str(raw), p.get("parse_mode"), p.get("caption_entities"), "caption")
        if len(text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return (text or None), entities

    def _markup(self, p: JSON, chat: _Chat, *, inline_only: bool = False) -> JSON | None:
        markup = p.get("reply_markup")
        if markup is None:
            return None
        try:
            return validate_reply_markup(markup, private_chat=chat.type == "private", inline_only=inline_only)
        except MarkupError as exc:
            raise BotApiError(400, str(exc)) from exc

    def _reply_target(self, p: JSON, chat: _Chat) -> int | None:
        params = p.get("reply_parameters")
        target: Any = None
        allow = bool(p.get("allow_sending_without_reply"))
        if isinstance(params, dict):
            target = params.get("message_id")
            allow = allow or bool(params.get("allow_sending_without_reply"))
            if params.get("chat_id") not in (None, chat.id):
                raise bad_request("message to be replied not found")
        elif p.get("reply_to_message_id") is not None:
            target = p["reply_to_message_id"]
        if target is None:
            return None
        msg = self._find(chat, int(target))
        if msg is None or msg.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return msg.message_id

    def _flood_check(self, chat: _Chat) -> None:
        if not self.flood_limits:
            return
        now = self._monotonic()
        window = self._flood_all
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= 30:
            raise _too_many(window[0] + 1.0 - now)
        if chat.type == "private":
            tokens, last = self._flood_private.get(chat.id, (5.0, now))
            tokens = min(5.0, tokens + (now - last) * 1.0)
            if tokens < 1.0:
                raise _too_many(1.0 - tokens)
            self._flood_private[chat.id] = (tokens - 1.0, now)
        else:
            per_group = self._flood_group.setdefault(chat.id, deque())
            while per_group and now - per_group[0] >= 60.0:
                per_group.popleft()
            if len(per_group) >= 20:
                raise _too_many(per_group[0] + 60.0 - now)
            per_group.append(now)
        window.append(now)

    def _input_file(
        self, p: JSON, f: dict[str, FileTuple], field_name: str, default_mime: str, folder: str, ext: str
    ) -> tuple[bytes, StoredFile]:
        ref = p.get(field_name)
        upload: FileTuple | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = f.get(ref[len("attach://") :])
            if upload is None:
                raise bad_request(f"file of field {field_name} not found in the request")
        elif ref is None or ref == "":
            upload = f.get(field_name)
            if upload is None:
                raise bad_request(f"there is no {field_name} in the request")
        if upload is not None:
            name, data, mime = upload
            if not data:
                raise bad_request("file must be non-empty")
            if folder != "photos" and name and "." in name and len(name.rsplit(".", 1)[-1]) <= 5:
                ext = name.rsplit(".", 1)[-1]
            stored = self._store_file(data, mime or default_mime, folder, ext, file_name=name)
            return data, stored
        if not isinstance(ref, str):
            raise bad_request(f"wrong type of the web page content for {field_name}")
        if re.match(r"^https?://", ref):
            # the real Telegram would download it; we keep an empty placeholder
            stored = self._store_file(b"", default_mime, folder, ext, file_name=ref.rsplit("/", 1)[-1])
            return b"", stored
        stored_ref = self._files.get(ref)
        if stored_ref is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored_ref.data, stored_ref

    def _store_file(
        self, data: bytes, mime: str, folder: str, ext: str, *, file_name: str | None = None
    ) -> StoredFile:
        n = next(self._file_seq)
        prefix = "AgACAgUAAxkB" if folder == "photos" else "BQACAgUAAxkB"
        file_id = f"{prefix}{n:08d}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AQAD{n:06d}",
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
            mime_type=mime,
            file_name=file_name,
        )
        self._files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, stored: StoredFile, data: bytes) -> list[JSON]:
        w, h = _png_size(data) if data else (800, 600)
        scale = min(1.0, 90 / max(w, h, 1))
        thumb = StoredFile(
            file_id=stored.file_id + "_s",
            file_unique_id=stored.file_unique_id + "s",
            file_path=stored.file_path,
            data=stored.data,
            mime_type=stored.mime_type,
        )
        self._files.setdefault(thumb.file_id, thumb)
        return [
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "file_size": len(data),
                "width": max(1, round(w * scale)),
                "height": max(1, round(h * scale)),
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(data),
                "width": w,
                "height": h,
            },
        ]

    def _user_message(
        self, user_id: int, chat_id: int | None, kind: str, *, reply_to: int | None = None, **fields: Any
    ) -> Message:
        chat = self._chat_for_user(user_id, chat_id)
        if chat.type == "private":
            chat.started = True
            self._blocked.discard(user_id)  # writing to the bot means it is not blocked
        if reply_to is not None:
            target = self.message(chat.id, reply_to)
            if target.deleted:
                raise ValueError(f"message {reply_to} was deleted")
        kb = chat.reply_keyboard
        if kb and kb.get("one_time_keyboard"):
            labels = {b if isinstance(b, str) else b.get("text") for row in kb["keyboard"] for b in row}
            if kind in ("contact", "location") or (kind == "text" and fields.get("text") in labels):
                chat.reply_keyboard = None  # a one-time keyboard hides once used
        return self._new_message(chat, from_user_id=user_id, kind=kind, reply_to=reply_to, **fields)

    def _deliver_user_message(self, msg: Message) -> JSON:
        chat = self._chats[msg.chat_id]
        deliver = self._bot_receives(chat) and self._passes_privacy(chat, msg)
        return self._push_update("message", self.message_json(msg), deliver=deliver)

    def _passes_privacy(self, chat: _Chat, msg: Message) -> bool:
        if not self.privacy_mode or chat.type == "private" or self.bot_id in chat.admins:
            return True
        text = msg.text or ""
        if text.startswith("/"):
            return True
        if f"@{self.bot_username}".lower() in text.lower():
            return True
        if msg.reply_to_message_id is not None:
            target = next((m for m in chat.history if m.message_id == msg.reply_to_message_id), None)
            return target is not None and target.from_bot
        return False

    def _new_message(
        self,
        chat: _Chat,
        *,
        from_bot: bool = False,
        from_user_id: int | None = None,
        kind: str,
        reply_to: int | None = None,
        **fields: Any,
    ) -> Message:
        msg = Message(
            message_id=chat.next_id,
            chat_id=chat.id,
            from_bot=from_bot,
            from_user_id=self.bot_id if from_bot else from_user_id,
            date=self._now(),
            kind=kind,
            reply_to_message_id=reply_to,
            **fields,
        )
        chat.next_id += 1
        chat.history.append(msg)
        if from_bot and msg.reply_markup:
            if "keyboard" in msg.reply_markup:
                chat.reply_keyboard = msg.reply_markup
            elif "remove_keyboard" in msg.reply_markup:
                chat.reply_keyboard = None
        self._emit({"type": "message", "chat_id": chat.id, "message": self._ui_message(msg)})
        return msg

    def _chat_json(self, chat: _Chat) -> JSON:
        if chat.type == "private":
            user = self.users.get(chat.id, {"first_name": str(chat.id)})
            out: JSON = {"id": chat.id, "type": "private", "first_name": user["first_name"]}
            for k in ("last_name", "username"):
                if user.get(k):
                    out[k] = user[k]
            return out
        out = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.username:
            out["username"] = chat.username
        return out

    def message_json(self, msg: Message, *, with_reply: bool = True) -> JSON:
        """The Message object as the Bot API returns and delivers it."""
        out: JSON = {
            "message_id": msg.message_id,
            "from": self.bot_user if msg.from_bot else self.users.get(msg.from_user_id or 0, {}),
            "chat": self._chat_json(self._chats[msg.chat_id]),
            "date": msg.date,
        }
        if msg.edit_date:
            out["edit_date"] = msg.edit_date
        if msg.reply_to_message_id is not None and with_reply:
            target = next(
                (m for m in self._chats[msg.chat_id].history if m.message_id == msg.reply_to_message_id), None
            )
            if target is not None:
                out["reply_to_message"] = self.message_json(target, with_reply=False)
        text_key, entities_key = (
            ("text", "entities") if msg.kind == "text" else ("caption", "caption_entities")
        )
        if msg.text is not None and msg.kind in ("text", "photo", "document"):
            out[text_key] = msg.text
            if msg.entities:
                out[entities_key] = msg.entities
        for key in ("photo", "document", "location", "contact", "poll"):
            value = getattr(msg, key)
            if value is not None:
                out[key] = value
        out.update(msg.extra)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        return out

    def _ui_message(self, msg: Message) -> JSON:
        """A compact view for the web chat."""
        sender = self.bot_user if msg.from_bot else self.users.get(msg.from_user_id or 0, {})
        return {
            "message_id": msg.message_id,
            "chat_id": msg.chat_id,
            "from_bot": msg.from_bot,
            "from_id": sender.get("id"),
            "from_name": " ".join(filter(None, [sender.get("first_name"), sender.get("last_name")])),
            "date": msg.date,
            "kind": msg.kind,
            "text": msg.text,
            "entities": msg.entities,
            "reply_markup": msg.reply_markup,
            "photo": msg.photo,
            "document": msg.document,
            "location": msg.location,
            "contact": msg.contact,
            "poll": msg.poll,
            "reply_to_message_id": msg.reply_to_message_id,
            "edited": msg.edited,
            "deleted": msg.deleted,
            "pinned": msg.pinned,
            "extra": msg.extra,
        }

    def ui_messages(self, chat_id: int) -> list[JSON]:
        return [self._ui_message(m) for m in self._chat_or_value_error(chat_id).history]


def _same_markup(a: JSON | None, b: JSON | None) -> bool:
    def norm(m: JSON | None) -> Any:
        if not m or not m.get("inline_keyboard"):
            return None
        return json.dumps(m["inline_keyboard"], sort_keys=True)

    return norm(a) == norm(b)


def _too_many(wait: float) -> BotApiError:
    seconds = max(1, math.ceil(wait))
    return BotApiError(429, f"Too Many Requests: retry after {seconds}", seconds)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


__all__ = [
    "BotApiError",
    "CommandScopeKey",
    "ConnectionDropped",
    "Message",
    "StoredFile",
    "TelegramWorld",
    "detect_entities",
]
