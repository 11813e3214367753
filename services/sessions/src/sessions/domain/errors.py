"""What a relationship's rules refuse, in terms the adapters translate (404, 409, 422)."""

from __future__ import annotations


class NotFound(Exception):
    """A part of the relationship (session, goal, action item) that does not exist."""


class Rejected(Exception):
    """A request the relationship's state does not allow (the session is held, the pair ended...)."""


class InvalidInput(ValueError):
    """A value the rules refuse, naming the field it came in."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail
