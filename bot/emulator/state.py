"""The local Telegram's state: people, chats, messages and files, in memory, and what a test may read of it.

`WorldState` holds everything; `bot.emulator.updates` adds what people do (and the update queue the bot
reads), `bot.emulator.botapi` the Bot API methods the bot calls. Tests read chats through the public methods
here (`chat_history`, `bot_messages`, `message`, `callback_answer`, ...) and set a scene with `add_user`,
`add_group`, `add_member`, `make_admin`; nothing outside the emulator touches the underscored state.
"""

from __future__ import annotations

import asyncio
import itertools
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

from bot.emulator.markup import utf16_len

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
    kind: str  # text, photo, document, location, contact, service
    text: str | None = None  # text, or the caption of a photo/document
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None  # as sent (inline, reply keyboard, remove, force_reply)
    photo: list[JSON] | None = None
    document: JSON | None = None
    location: JSON | None = None
    contact: JSON | None = None
    reply_to_message_id: int | None = None
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False
    pinned: bool = False
    extra: JSON = field(default_factory=dict)  # service messages: new_chat_members, left_chat_member

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


class WorldState:
    """Users, chats, messages and files of one bot's local Telegram, and the faults it was told to inject."""

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
        self._updates: list[JSON] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._faults: list[_Fault] = []
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._flood_all: deque[float] = deque()
        self._flood_group: dict[int, deque[float]] = {}
        self._flood_private: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last time)
        self.calls: list[tuple[str, JSON]] = []
        self.commands: dict[CommandScopeKey, list[JSON]] = {}
        self.webhook: JSON | None = None  # {"url", "secret_token", "allowed_updates", "max_connections"}
        self.webhook_last_error: tuple[int, str] | None = None
        self.allowed_updates: list[str] | None = None
        self.last_poll_at: float | None = None
        self._polling_now = 0
        self._poll_generation = 0
        self.listeners: list[Callable[[JSON], None]] = []
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}

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

    def add_member(self, chat_id: int, user_id: int) -> None:
        """Set the scene: the person is already in the group (no join update, unlike user_joins_group)."""
        self._user(user_id)
        self._chat_or_value_error(chat_id).members.add(user_id)

    def make_admin(self, chat_id: int, user_id: int) -> None:
        """Set the scene: the person (or the bot, by its bot_id) is already an admin of the group (no
        update, unlike bot_promoted)."""
        if user_id != self.bot_id:
            self._user(user_id)
        self._chat_or_value_error(chat_id).admins.add(user_id)

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
        for key in ("photo", "document", "location", "contact"):
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
            "reply_to_message_id": msg.reply_to_message_id,
            "edited": msg.edited,
            "deleted": msg.deleted,
            "pinned": msg.pinned,
            "extra": msg.extra,
        }

    def ui_messages(self, chat_id: int) -> list[JSON]:
        return [self._ui_message(m) for m in self._chat_or_value_error(chat_id).history]

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

    def _user_or_400(self, user_id: int) -> JSON:
        if user_id not in self.users:
            raise bad_request("user not found")
        return self.users[user_id]


def _too_many(wait: float) -> BotApiError:
    seconds = max(1, math.ceil(wait))
    return BotApiError(429, f"Too Many Requests: retry after {seconds}", seconds)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
