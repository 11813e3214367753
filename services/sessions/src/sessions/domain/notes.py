"""A private note: read only by its author, never in an event, erased with its author."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Note(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    note_id: str = Field(alias="_id")
    org_id: str
    pair_id: str
    session_id: str | None = None
    author_id: str
    text: str
    created_at: datetime
