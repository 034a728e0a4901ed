"""The Bot API methods the bot calls (and PTB on its behalf), answered as Telegram answers them.

Only what RedButler uses: getMe, getUpdates and the webhook methods; sendMessage, sendPhoto, sendDocument,
sendContact; editMessageText, editMessageReplyMarkup; answerCallbackQuery; getFile; setMyCommands and
getMyCommands; pinChatMessage (the outbox pins announcements). Anything else is 404, as an unknown method is
for Telegram. The bot never sends parse_mode (formatting goes as entities), so a parse_mode is refused.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.emulator.markup import MarkupError, validate_reply_markup
from bot.emulator.state import (
    JSON,
    MAX_CAPTION,
    MAX_TEXT,
    BotApiError,
    CommandScopeKey,
    ConnectionDropped,
    FileTuple,
    Message,
    StoredFile,
    _Chat,
    _too_many,
    bad_request,
)
from bot.emulator.updates import UpdatesWorld

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


_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


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


class TelegramWorld(UpdatesWorld):
    """The whole local Telegram for one bot: ``await world.call(method, params)`` answers a Bot API
    method with Telegram's JSON (the ``result`` value) or raises :class:`BotApiError` with Telegram's own
    error text."""

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
            "sendPhoto",
            "sendDocument",
            "sendContact",
            "editMessageText",
            "editMessageReplyMarkup",
            "answerCallbackQuery",
            "getFile",
            "setMyCommands",
            "getMyCommands",
            "pinChatMessage",
        ]
        return {n.lower(): getattr(self, "_m_" + n) for n in names}

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

    def _m_sendMessage(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        raw = p.get("text")
        if raw is None:
            raise bad_request("message text is empty")
        text, entities = self._formatted(str(raw), p.get("parse_mode"), p.get("entities"))
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

    def _m_sendContact(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat = self._target_chat(p)
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad_request("phone number or first name is empty")
        contact = {k: p[k] for k in ("phone_number", "first_name", "last_name") if p.get(k)}
        markup = self._markup(p, chat)
        self._flood_check(chat)
        msg = self._new_message(chat, from_bot=True, kind="contact", contact=contact, reply_markup=markup)
        return self.message_json(msg)

    def _m_editMessageText(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat, msg = self._editable(p)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw = p.get("text")
        if raw is None:
            raise bad_request("message text is empty")
        text, entities = self._formatted(str(raw), p.get("parse_mode"), p.get("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = self._markup(p, chat, inline_only=True)
        return self._apply_edit(chat, msg, text, entities, markup)

    def _m_editMessageReplyMarkup(self, p: JSON, f: dict[str, FileTuple]) -> JSON:
        chat, msg = self._editable(p)
        markup = self._markup(p, chat, inline_only=True)
        return self._apply_edit(chat, msg, msg.text, msg.entities, markup)

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

    def _formatted(self, raw: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSON]]:
        if parse_mode:
            raise bad_request(f"unsupported parse_mode {parse_mode}: this emulator takes entities")
        if not entities:
            return raw, []
        if not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        return raw, [dict(e) for e in entities]

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

    def _caption(self, p: JSON) -> tuple[str | None, list[JSON]]:
        raw = p.get("caption")
        if raw is None or raw == "":
            return None, []
        text, entities = self._formatted(str(raw), p.get("parse_mode"), p.get("caption_entities"))
        if len(text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return (text or None), entities


def _same_markup(a: JSON | None, b: JSON | None) -> bool:
    def norm(m: JSON | None) -> Any:
        if not m or not m.get("inline_keyboard"):
            return None
        return json.dumps(m["inline_keyboard"], sort_keys=True)

    return norm(a) == norm(b)
