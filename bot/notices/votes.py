"""The owners' votes buttons the services put under queued notices. Wire format unchanged ("vt:open:3")."""

from __future__ import annotations

from bot.callbacks import Button

PREFIX = "vt"

OPEN_BALLOT = Button(PREFIX, "open", int)  # vote id: the ballot in the private chat
