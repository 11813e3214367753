"""Routes on private notes: only their author reads them; they never enter an event."""

from __future__ import annotations

from fastapi import APIRouter

from sessions.api.bodies import NoteIn
from sessions.api.deps import CurrentActor, Sessions
from sessions.api.errors import problems
from sessions.api.views import MyNoteOut, NoteOut
from sessions.use_cases import members

router = APIRouter(tags=["sessions"])


@router.post(
    "/pairs/{pair_id}/notes",
    response_model=NoteOut,
    status_code=201,
    summary="A private note (only its author reads it)",
    responses=problems(403, 404, 422),
)
async def add_note(pair_id: str, body: NoteIn, ctx: Sessions, actor: CurrentActor) -> NoteOut:
    return NoteOut.of(await members.add_note(ctx, actor, pair_id, body.text, body.session_id))


@router.get(
    "/pairs/{pair_id}/notes",
    response_model=list[MyNoteOut],
    summary="My private notes on this pair",
    responses=problems(404, 422),
)
async def my_notes(pair_id: str, ctx: Sessions, actor: CurrentActor) -> list[MyNoteOut]:
    return [MyNoteOut.of(note) for note in await members.my_notes(ctx, actor, pair_id)]
