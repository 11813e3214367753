"""The 422 problem every service answers to bad input: the same shape (`errors` naming each field
and where it was), and messages a person reads as sentences, without pydantic's "Value error, "."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, field_validator
from servicekit.problems import field_message, install_problem_handlers, sentence

pytestmark = pytest.mark.fast


class Mentor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=5)
    capacity: int = Field(ge=0, le=20)
    timezone: str
    skills: list[str] = Field(default_factory=list, min_length=2)
    ends_on: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value != "Europe/Paris":
            raise ValueError("unknown IANA timezone")
        return value

    @field_validator("ends_on")
    @classmethod
    def _with_skills(cls, value: str | None) -> str | None:
        if value == "never":
            raise ValueError("ends_on must be a date")
        return value


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/mentors")
    async def register(mentor: Mentor, page: int = 0) -> dict[str, str]:
        return {"display_name": mentor.display_name}

    return app


async def _post(body: Any = None, *, content: bytes | None = None, query: str = "") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        if content is not None:
            return await client.post(
                f"/mentors{query}", content=content, headers={"content-type": "application/json"}
            )
        return await client.post(f"/mentors{query}", json=body)


async def test_a_422_names_each_field_with_a_sentence_and_no_pydantic_prefix() -> None:
    body = {
        "display_name": "",
        "capacity": 21,
        "timezone": "Mars/Olympus",
        "skills": ["python"],
        "ends_on": "never",
        "colour": "teal",
    }
    refused = await _post(body, query="?page=first")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    # (`trace_id` too when a tracer provider is set, as in a service.)
    assert set(problem) - {"trace_id"} == {"type", "title", "status", "detail", "instance", "errors"}
    assert (problem["status"], problem["title"]) == (422, "Invalid request")
    assert problem["detail"] == (
        "These fields are missing or invalid: capacity, colour, display_name, ends_on, page, skills, "
        "timezone."
    )
    assert all(set(error) == {"field", "location", "message"} for error in problem["errors"])
    messages = {error["field"]: (error["location"], error["message"]) for error in problem["errors"]}
    assert messages == {
        "display_name": ("body", "This should not be empty."),
        "capacity": ("body", "This should be at most 20."),
        "timezone": ("body", "Unknown IANA timezone."),
        "skills": ("body", "This should have at least 2 items."),
        "ends_on": ("body", "ends_on must be a date."),
        "colour": ("body", "This field is not expected here."),
        "page": ("query", "This should be a whole number."),
    }
    assert "Value error" not in refused.text


async def test_a_missing_field_and_a_broken_body_read_as_sentences() -> None:
    missing = (await _post({"display_name": "Ada", "capacity": 1})).json()
    assert missing["detail"] == "This field is missing or invalid: timezone."
    assert missing["errors"] == [
        {"field": "timezone", "location": "body", "message": "This field is required."}
    ]
    broken = (await _post(content=b'{"display_name": ')).json()
    [error] = broken["errors"]
    assert error["location"] == "body"
    assert error["message"].startswith("The request body is not valid JSON: ")
    assert error["message"].endswith(".")


def test_any_message_becomes_a_sentence() -> None:
    assert sentence("Value error, unknown IANA timezone") == "Unknown IANA timezone."
    assert sentence("Assertion failed, capacity must be positive") == "Capacity must be positive."
    assert sentence("focus_skill and ends_on are required") == "focus_skill and ends_on are required."
    assert sentence("Already a sentence!") == "Already a sentence!"
    assert sentence("Value error, ") == "This value is not valid."
    # A pydantic error without a wording of ours keeps pydantic's words, as a sentence.
    pattern = {"type": "string_pattern_mismatch", "msg": "String should match pattern '^[a-z]+$'"}
    assert field_message(pattern) == "String should match pattern '^[a-z]+$'."
    # A wording whose value is missing from the context falls back to pydantic's words.
    assert field_message({"type": "greater_than_equal", "msg": "Input should be >= 0", "ctx": {}}) == (
        "Input should be >= 0."
    )
