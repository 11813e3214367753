"""Bulk import from the HR system: JSON or CSV rows upserted by employee id, idempotently, with a
per-row report. A row that fails validation changes nothing; the valid rows are applied."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import BaseModel, ValidationError

from profiles.domain.person import InvalidProfile
from profiles.models import ProfileIn
from profiles.use_cases import Actor, Conflict, ImportStatus, NotAllowed, Profiles, ProfilesError

CSV_FORMAT = (
    "Rows of profiles, as in `POST /profiles` plus `person_id` (required here): a JSON array, "
    '`{"rows": [...]}`, or CSV (`content-type: text/csv`) with a header line naming the fields. In CSV, '
    "empty cells are left out; `roles`, `languages`, `interests`, `modalities` and `skills_wanted` are "
    "lists separated by `;`; `skills_offered` is `name:level;name:level` (level optional); yes/no cells "
    "take true/false, yes/no or 1/0; `personality`, `boundaries` and `inclusion` are JSON-only. "
    "At most 10,000 rows and 5 MB; each row is reported, and a refused row changes nothing."
)
MAX_ROWS = 10_000
MAX_BYTES = 5_000_000
_LIST_COLUMNS = ("roles", "languages", "interests", "modalities", "skills_wanted")


class UnreadableImport(ProfilesError):
    """The body as a whole is not rows of JSON or CSV."""


class RowError(BaseModel):
    field: str
    message: str


class RowResult(BaseModel):
    row: int
    person_id: str | None
    status: ImportStatus
    errors: list[RowError] = []


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    invalid: int
    rows: list[RowResult]


async def import_profiles(profiles: Profiles, actor: Actor, body: bytes, content_type: str) -> ImportReport:
    """The HR import use case: admins only; every valid row applied, every row reported."""
    if not actor.is_admin:
        raise NotAllowed("import profiles")
    return await import_rows(profiles, actor, parse_import(body, content_type))


def parse_import(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Rows from a JSON body (`[...]` or `{"rows": [...]}`) or a CSV body with a header line."""
    try:
        text = body.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as error:
        raise UnreadableImport("the body is not UTF-8 text") from error
    rows = _csv_rows(text) if "csv" in content_type else _json_rows(text)
    if len(rows) > MAX_ROWS:
        raise UnreadableImport(f"at most {MAX_ROWS} rows per import; split the file")
    return rows


def _json_rows(text: str) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise UnreadableImport("the body is neither a JSON array of rows nor CSV") from error
    candidate = parsed.get("rows") if isinstance(parsed, dict) else parsed
    if not isinstance(candidate, list) or not all(isinstance(row, dict) for row in candidate):
        raise UnreadableImport('expected a JSON array of objects, or {"rows": [...]}')
    return candidate


def _csv_rows(text: str) -> list[dict[str, Any]]:
    try:
        return [_csv_row(row) for row in csv.DictReader(io.StringIO(text))]
    except csv.Error as error:
        raise UnreadableImport(f"the body is not valid CSV: {error}") from error


def _csv_row(row: dict[str | None, Any]) -> dict[str, Any]:
    """CSV cells to the JSON shape (cells past the header's end are ignored; the row's values are
    validated like JSON rows, so a bad number or yes/no cell is reported, not guessed)."""
    out: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None or not isinstance(raw, str) or raw.strip() == "":
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
        else:
            out[key] = value
    return out


def _errors(error: ValidationError) -> list[RowError]:
    return [
        RowError(field=".".join(str(p) for p in item["loc"]) or "row", message=item["msg"])
        for item in error.errors()
    ]


class _Rows:
    """The report being built, and which ids and emails earlier rows of this import used."""

    def __init__(self) -> None:
        self.results: list[RowResult] = []
        self.ids: dict[str, int] = {}
        self.emails: dict[str, int] = {}

    def invalid(self, number: int, person_id: str | None, errors: list[RowError]) -> None:
        self.results.append(
            RowResult(row=number, person_id=person_id, status=ImportStatus.INVALID, errors=errors)
        )

    def repeated(self, number: int, person_id: str, email: str) -> RowError | None:
        if person_id in self.ids:
            return RowError(field="person_id", message=f"also in row {self.ids[person_id]}")
        if email in self.emails:
            return RowError(field="email", message=f"also in row {self.emails[email]}")
        self.ids[person_id] = number
        self.emails[email] = number
        return None

    def report(self) -> ImportReport:
        count = {status.value: sum(r.status is status for r in self.results) for status in ImportStatus}
        return ImportReport(**count, rows=self.results)


async def import_rows(profiles: Profiles, actor: Actor, rows: list[dict[str, Any]]) -> ImportReport:
    """Apply each valid row through the profile use cases; report every row."""
    report = _Rows()
    for number, row in enumerate(rows, start=1):
        person_id = row.get("person_id") if isinstance(row.get("person_id"), str) else None
        try:
            profile = ProfileIn.model_validate(row)
        except ValidationError as error:
            report.invalid(number, person_id, _errors(error))
            continue
        if profile.person_id is None:
            report.invalid(
                number, None, [RowError(field="person_id", message="An import row must name the person.")]
            )
            continue
        repeated = report.repeated(number, profile.person_id, profile.email)
        if repeated:
            report.invalid(number, profile.person_id, [repeated])
            continue
        try:
            outcome = await profiles.import_profile(actor, profile.person_id, profile)
        except (Conflict, InvalidProfile) as error:
            report.invalid(number, profile.person_id, [RowError(field=error.field, message=str(error))])
            continue
        report.results.append(RowResult(row=number, person_id=profile.person_id, status=outcome))
    return report.report()
