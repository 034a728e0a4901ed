"""What people do in their Telegram apps (write, press, share, join) and the update queue the bot reads,
by getUpdates (long polling, one poller at a time) or through the HTTP server's webhook."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from bot.emulator.state import (
    JSON,
    TINY_PNG,
    BotApiError,
    Message,
    WorldState,
    _CallbackQuery,
    _Chat,
    _resolve,
    detect_entities,
)

_DEFAULT_ALLOWED = {"message_reaction", "message_reaction_count", "chat_member"}  # not sent unless asked


_PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UpdatesWorld(WorldState):
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
