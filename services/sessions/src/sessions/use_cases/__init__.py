"""What the sessions service does, in one place: `lifecycle` (relationships start, end, forget an
erased person, and what time alone causes), `members` (what a pair's members do), `reports` (what
the portal reads). Every use case takes a `SessionsContext` (its ports) and never a framework."""

from sessions.use_cases.context import Actor, Forbidden, SessionsContext

__all__ = ["Actor", "Forbidden", "SessionsContext"]
