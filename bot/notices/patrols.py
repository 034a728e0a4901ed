"""The patrol capability's buttons, declared once: the services put them under queued notices, the handlers
match and read the presses. Wire format unchanged ("pa:take:12")."""

from __future__ import annotations

from bot.callbacks import Button

PREFIX = "pa"  # patrol buttons ("pt" is the points capability)

SIGN_UP = Button(PREFIX, "up", int)  # shift id
LEAVE = Button(PREFIX, "cx", int)  # shift id: cancel a booking or leave the waiting list
TAKE_PLACE = Button(PREFIX, "take", int)  # offer id: "我来" for a freed place
ALL_QUIET = Button(PREFIX, "ok", int)  # shift id: the end-of-shift report, nothing found
FOUND = Button(PREFIX, "issue", int)  # shift id: the end-of-shift report, something found
TO_HAZARD = Button(PREFIX, "hz", int)  # shift id: turn the report into a 安全隐患 ticket
REPORT_CANCEL = Button(PREFIX, "rcancel")
