"""Bulk import from the HR system: JSON or CSV rows upserted by employee id, idempotently, with a
per-row report. A row that fails validation changes nothing; the valid rows are applied."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from servicekit.runtime import ServiceRuntime

from profiles import people
from profiles.domain.profile import Taxonomy
from profiles.models import ProfileChanges, ProfileIn
from profiles.store import person_key

MAX_ROWS = 10_000
_LIST_COLUMNS = ("roles", "languages", "interests", "modalities", "skills_wanted")


class RowError(BaseModel):
    field: str
    message: str


class RowResult(BaseModel):
    row: int
    person_id: str | None
    status: Literal["created", "updated", "unchanged", "invalid"]
    errors: list[RowError] = []


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    invalid: int
    rows: list[RowResult]


def parse_import(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Rows from a JSON body (`[...]` or `{"rows": [...]}`) or a CSV body with a header line."""
    text = body.decode("utf-8-sig", errors="strict")
    if "csv" in content_type:
        reader = csv.DictReader(io.StringIO(text))
        rows = [_csv_row(row) for row in reader]
    else:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"the body is neither a JSON array of rows nor CSV: {error}") from error
        candidate = parsed.get("rows") if isinstance(parsed, dict) else parsed
        if not isinstance(candidate, list) or not all(isinstance(r, dict) for r in candidate):
            raise ValueError('expected a JSON array of objects, or {"rows": [...]}')
        rows = candidate
    if len(rows) > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS} rows per import")
    return rows


def _csv_row(row: dict[str, str | None]) -> dict[str, Any]:
    """CSV cells to the JSON shape: empty cells are absent, lists are `;`-separated, offered skills
    are `name:level;name:level`."""
    out: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None or raw is None or raw.strip() == "":
            continue
        value = raw.strip()
        if key in _LIST_COLUMNS:
            out[key] = [part.strip() for part in value.split(";") if part.strip()]
        elif key == "skills_offered":
            out[key] = [
                dict(zip(("name", "level"), (p.strip() for p in part.split(":", 1)), strict=False))
                for part in value.split(";")
                if part.strip()
            ]
        elif key in ("mentor_capacity", "years_experience"):
            out[key] = int(value) if value.lstrip("-").isdigit() else value
        elif key in ("accepting_mentees", "peer_mentoring", "reverse_mentoring"):
            out[key] = value.lower() in ("true", "yes", "1")
        else:
            out[key] = value
    return out


def _errors(error: ValidationError) -> list[RowError]:
    return [
        RowError(field=".".join(str(p) for p in item["loc"]) or "row", message=item["msg"])
        for item in error.errors()
    ]


async def import_rows(
    runtime: ServiceRuntime, taxonomy: Taxonomy, org_id: str, rows: list[dict[str, Any]]
) -> ImportReport:
    results: list[RowResult] = []
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    people_collection = runtime.db["people"]
    for number, row in enumerate(rows, start=1):
        person_id = row.get("person_id") if isinstance(row.get("person_id"), str) else None
        try:
            profile = ProfileIn.model_validate(row)
        except ValidationError as error:
            results.append(
                RowResult(row=number, person_id=person_id, status="invalid", errors=_errors(error))
            )
            continue
        if profile.person_id is None:
            results.append(
                RowResult(
                    row=number,
                    person_id=None,
                    status="invalid",
                    errors=[RowError(field="person_id", message="required in an import")],
                )
            )
            continue
        person_id = profile.person_id
        duplicate = (
            RowError(field="person_id", message=f"also in row {seen_ids[person_id]}")
            if person_id in seen_ids
            else RowError(field="email", message=f"also in row {seen_emails[profile.email]}")
            if profile.email in seen_emails
            else None
        )
        if duplicate:
            results.append(RowResult(row=number, person_id=person_id, status="invalid", errors=[duplicate]))
            continue
        seen_ids[person_id] = number
        seen_emails[profile.email] = number
        current = await people_collection.find_one({"_id": person_key(org_id, person_id), "org_id": org_id})
        try:
            if current is None:
                await people.register(runtime, taxonomy, org_id, person_id, profile, runtime.clock.now())
                status: Literal["created", "updated", "unchanged"] = "created"
            elif current.get("erased"):
                raise people.Conflict("person_id", "this person was erased; they cannot be re-imported")
            else:
                changes = ProfileChanges.model_validate(
                    profile.model_dump(exclude={"person_id"}, exclude_unset=True)
                )
                outcome = await people.change(runtime, taxonomy, current, changes, runtime.clock.now())
                status = "updated" if outcome.changed_fields else "unchanged"
        except people.Conflict as error:
            results.append(
                RowResult(
                    row=number,
                    person_id=person_id,
                    status="invalid",
                    errors=[RowError(field=error.field, message=str(error))],
                )
            )
            continue
        results.append(RowResult(row=number, person_id=person_id, status=status))
    count = {s: sum(r.status == s for r in results) for s in ("created", "updated", "unchanged", "invalid")}
    return ImportReport(**count, rows=results)
