"""What the database layer tells services, without services importing sqlalchemy."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


class Conflict(IntegrityError):
    """A unique constraint refused the commit: another transaction wrote the same row first (two presses at
    once). A subclass of IntegrityError, so code still catching that keeps working."""
