"""Regenerate the committed contract files: JSON Schema per event and AsyncAPI 3.0 per service.

`make docs` runs this; tests/contract fails when the committed files are out of date.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

from mentorship_schemas.jsonschema import write_all

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("profiles", "matching", "sessions", "notifications")


def asyncapi_of(service: str) -> dict[str, Any]:
    app_module = importlib.import_module(f"{service}.app")
    document: dict[str, Any] = app_module.build_runtime().asyncapi()
    return document


def asyncapi_path(service: str) -> Path:
    return ROOT / "services" / service / "asyncapi.json"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> None:
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    for path in write_all():
        print(f"wrote {path.relative_to(ROOT)}")
    for service in SERVICES:
        path = asyncapi_path(service)
        path.write_text(render(asyncapi_of(service)))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
