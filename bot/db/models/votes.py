"""Owners' decisions: who owns each home, proposals with supports, votes, append-only ballots, notices sent.

Ballots and notices are evidence (Civil Code art. 280: an owner may ask a court to revoke a decision), so no
row of either is ever updated or deleted; a changed vote is a new ballot with the next `seq` for its home.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, JsonType, UtcDateTime


class ClaimStatus(StrEnum):
    """A home ownership claimed by a resident, or a paper ballot typed in: checked by a second person."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ProposalStatus(StrEnum):
    OPEN = "open"
    MEETING = "meeting"  # put on a meeting's agenda
    VOTE = "vote"  # put to an owners' vote


class BallotOption(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class HomeOwnership(Base):
    """Who holds a home: an owner (votes) or a tenant (does not); `developer` marks the developer's unsold
    homes (person_id None). Claims made in the chat wait for a building leader or admin to confirm."""

    __tablename__ = "home_ownerships"
    __table_args__ = (UniqueConstraint("household_id", "person_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # owner | tenant | developer
    status: Mapped[str] = mapped_column(String(12), default="confirmed")  # confirmed | pending | rejected
    source: Mapped[str] = mapped_column(String(12), default="import")  # import | claim
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Proposal(Base):
    """A proposal or a problem (问题清单) a resident raised; supports rank the list."""

    __tablename__ = "owner_proposals"
    __table_args__ = (Index("ix_owner_proposals_compound_status", "compound_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | meeting | vote
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("owner_votes.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProposalSupport(Base):
    __tablename__ = "proposal_supports"
    __table_args__ = (UniqueConstraint("proposal_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("owner_proposals.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OwnerVote(Base):
    """One owners' assembly decision (业主共同决定, Civil Code art. 278)."""

    __tablename__ = "owner_votes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    matter: Mapped[str] = mapped_column(String(12))  # ordinary | special (art. 278 items 6–8)
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime())
    notice_days: Mapped[int] = mapped_column(Integer, default=15)
    documents: Mapped[list[dict[str, str]]] = mapped_column(JsonType, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    notice_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    result_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The figures as published at close, so `vote audit` can show a later recount agrees with them.
    published_result: Mapped[dict[str, object] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Ballot(Base):
    """One home's choice at one moment. The home's current ballot is its highest `seq`; the unique
    (vote, home, seq) makes two presses at once from two phones produce one next ballot, not two."""

    __tablename__ = "ballots"
    __table_args__ = (
        UniqueConstraint("vote_id", "household_id", "seq"),
        Index("ix_ballots_vote_home", "vote_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("owner_votes.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    option: Mapped[str] = mapped_column(String(8))  # yes | no | abstain
    channel: Mapped[str] = mapped_column(String(8))  # online | paper | proxy
    cast_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    proxy_name: Mapped[str | None] = mapped_column(String(100))  # 书面委托: who signed for the owner
    entered_by: Mapped[str | None] = mapped_column(String(100))  # paper: who typed it in
    confirmed_by: Mapped[str | None] = mapped_column(String(100))  # paper: the scrutineer (监票)
    cast_at: Mapped[datetime] = mapped_column(UtcDateTime())


class VoteNotice(Base):
    """Evidence of each notice, reminder and result sent: to a group or to one owner."""

    __tablename__ = "vote_notices"
    __table_args__ = (Index("ix_vote_notices_vote", "vote_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("owner_votes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # notice | reminder | result
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PaperEntry(Base):
    """A paper or proxy ballot typed in by a building leader, waiting for a second person (监票) to
    confirm it; only a confirmed entry becomes a ballot."""

    __tablename__ = "vote_paper_entries"
    __table_args__ = (Index("ix_vote_paper_entries_vote", "vote_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("owner_votes.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    option: Mapped[str] = mapped_column(String(8))
    proxy_name: Mapped[str | None] = mapped_column(String(100))
    entered_by: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | confirmed | rejected
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
