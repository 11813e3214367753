"""`python -m mentorship_schemas`: regenerate the committed JSON Schema files."""

from mentorship_schemas.jsonschema import write_all

for path in write_all():
    print(f"wrote {path}")
