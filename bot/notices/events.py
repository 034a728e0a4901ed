"""The events capability's buttons, declared once: the services put "报名" under event posts, the handlers
match and read the presses. Wire format unchanged ("ev:go:12")."""

from __future__ import annotations

from bot.callbacks import Button

PREFIX = "ev"

RSVP = Button(PREFIX, "go", int)  # event id
CANCEL_RSVP = Button(PREFIX, "cx", int)  # event id
STOP = Button(PREFIX, "stop")  # leave /newevent
