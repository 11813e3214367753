"""Each mentor's embedded profile goes to the engine's process once (`engine_runner.EngineProcess`).

A run's goals (`SemanticGoals`) carry every mentor it scores, each with every passage's vector: up
to the org's thousands, and from one run to the next mostly the same profiles. In matching's flood
the runs sent to the process carried 146 MB of goals, pickled in the service and unpickled there.
Here the process keeps the mentors' profiles it was sent; a run sends the new ones and names the
others.

Not imported by `engine_runner` at its top: it loads numpy, which must wait for `numpy_settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from matching.domain.semantic import SemanticProfile
from matching.domain.semantic_goals import SemanticGoals

R = TypeVar("R")
# The most mentors' embedded profiles the engine process holds between runs (about 5 KB each).
HELD_MENTORS = 20_000


class MentorsNotHeld(Exception):
    """The engine process did not hold a mentor's profile a run relied on it holding."""


@dataclass(frozen=True)
class GoalsParcel:
    """A run's `SemanticGoals` as sent to the engine process: its mentees' profiles, the mentors' the
    process does not hold yet, and every mentor of the run by key and token (what was sent as whom)."""

    generation: int
    goals: SemanticGoals
    mentors: list[tuple[str, int]]


class MentorsSent:
    """Which mentors' embedded profiles the engine process holds, as the service sees it.

    Each profile goes to the process once: later runs name it by its key and a token (the id of
    the object sent, which this side keeps alive so the token cannot be another's). Calls reach
    the single process in the order they are made, so a profile named was sent before. Anything
    that may have broken that (a process replaced, a call that failed or was cancelled) starts a
    new generation: the process drops what it holds and every mentor is sent again; a process that
    finds a named mentor missing says so (`MentorsNotHeld`) and the run is sent whole."""

    def __init__(self, limit: int = HELD_MENTORS) -> None:
        self._limit = limit
        self.generation = 0
        self._sent: dict[str, SemanticProfile] = {}

    def forget(self) -> None:
        self.generation += 1
        self._sent.clear()

    def parcel(self, argument: object) -> object:
        if not isinstance(argument, SemanticGoals):
            return argument
        if len(self._sent) + len(argument.mentors) > self._limit:
            self.forget()
        new: dict[str, SemanticProfile] = {}
        for key, profile in argument.mentors.items():
            if self._sent.get(key) is not profile:
                new[key] = self._sent[key] = profile
        named = [(key, id(profile)) for key, profile in argument.mentors.items()]
        return GoalsParcel(self.generation, SemanticGoals(argument.mentees, new, argument.dimensions), named)


# In the engine process: the mentors' profiles it was sent, by key, with their tokens.
_held_generation = -1
_held: dict[str, tuple[int, SemanticProfile]] = {}


def unparcelled(work: Callable[..., R], args: list[object], kwargs: dict[str, object]) -> R:
    """In the engine process: `work` on the arguments as the service had them."""
    return work(*(goals_of(a) for a in args), **{k: goals_of(a) for k, a in kwargs.items()})


def goals_of(argument: Any) -> Any:
    global _held_generation
    if not isinstance(argument, GoalsParcel):
        return argument
    if argument.generation != _held_generation:
        _held.clear()
        _held_generation = argument.generation
    sent = argument.goals.mentors
    mentors: dict[str, SemanticProfile] = {}
    for key, token in argument.mentors:
        if key in sent:
            _held[key] = (token, sent[key])
        held = _held.get(key)
        if held is None or held[0] != token:
            raise MentorsNotHeld(key)
        mentors[key] = held[1]
    return SemanticGoals(argument.goals.mentees, mentors, argument.goals.dimensions)
