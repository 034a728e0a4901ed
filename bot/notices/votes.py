"""The owners' votes buttons the services put under queued notices. Wire format unchanged ("vt:open:3")."""

from __future__ import annotations

from typing import Any

from bot.callbacks import Button
from bot.delivery.markup import inline_keyboard
from bot.i18n import Translator

PREFIX = "vt"

OPEN_BALLOT = Button(PREFIX, "open", int)  # vote id: the ballot in the private chat
CHOOSE = Button(PREFIX, "c", int, int, str)  # vote id, home id, option code (y | n | a)
START_FROM_PROPOSAL = Button(PREFIX, "new", int)  # proposal id

# A paper ballot typed in the chat waits for a second person's check (监票).
PAPER_OK = Button("vp", "ok", int)  # paper entry id
PAPER_NO = Button("vp", "no", int)

# A resident's claim to own a home, checked by the building leader.
CLAIM_PREFIX = "vo"
CLAIM_HOME = Button(CLAIM_PREFIX, "claim", int)  # household id
CLAIM_OK = Button(CLAIM_PREFIX, "ok", int)  # ownership id
CLAIM_NO = Button(CLAIM_PREFIX, "no", int)

PROPOSAL_PREFIX = "pp"
PROPOSE = Button(PROPOSAL_PREFIX, "new")
SUPPORT = Button(PROPOSAL_PREFIX, "s", int)  # proposal id
TO_MEETING = Button(PROPOSAL_PREFIX, "m", int)  # proposal id: on the next meeting's agenda
TO_VOTE = Button(PROPOSAL_PREFIX, "v", int)  # proposal id: put to an owners' vote


def open_ballot_buttons(t: Translator, language: str | None, vote_id: int) -> dict[str, Any]:
    """Under a vote's notice or reminder: open the ballot."""
    return inline_keyboard([[(t(language, "votes.btn_open"), OPEN_BALLOT.data(vote_id))]])


def paper_check_buttons(t: Translator, entry_id: int) -> dict[str, Any]:
    """Under a typed-in paper ballot, for the scrutineer: it matches the sheet, or it does not."""
    return inline_keyboard(
        [
            [
                (t(None, "votes.btn_paper_ok"), PAPER_OK.data(entry_id)),
                (t(None, "votes.btn_paper_no"), PAPER_NO.data(entry_id)),
            ]
        ]
    )


def claim_check_buttons(t: Translator, ownership_id: int) -> dict[str, Any]:
    """Under a resident's claim to own a home, for the building leader: confirm or reject."""
    return inline_keyboard(
        [
            [
                (t(None, "proposals.btn_confirm_owner"), CLAIM_OK.data(ownership_id)),
                (t(None, "proposals.btn_reject_owner"), CLAIM_NO.data(ownership_id)),
            ]
        ]
    )
