"""`make clock [ADVANCE=3d]`: show the shared platform clock of what `make run` started, or move
it forward (`90m`, `12h`, `3d`, `2w`, or plain seconds) for every service, then wait until all four
see the new time. Uses the development token secret `make run` keeps in `.local/`."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from service_fleet import SERVICES
from servicekit.auth import issue_dev_token

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("MENTORSHIP_STATE_DIR", REPO / ".local"))
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """'3d' -> 259200.0; '1d12h' -> 129600.0; '45' -> 45.0 (seconds)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw]?)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise ValueError(f"not a duration: {text!r} (like 90m, 12h, 3d, 2w or 1d12h)")
    return sum(float(number) * UNITS[unit or "s"] for number, unit in parts)


def _call(url: str, token: str, body: dict[str, float] | None = None) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, object] = json.load(response)
        return answer


def main(argv: list[str]) -> int:
    secret_file = STATE / "dev-hs256-secret"
    if not secret_file.exists():
        print(f"error: no {secret_file}: start the platform with `make run` first", file=sys.stderr)
        return 2
    token = issue_dev_token(
        secret_file.read_text().strip(), sub="clock", org="demo", roles=["program_admin"], ttl_seconds=300
    )
    urls = {name: f"http://127.0.0.1:{port}/dev/clock" for name, port in SERVICES.items()}
    try:
        if argv and argv[0]:
            moved = _call(urls["profiles"] + "/advance", token, {"seconds": parse_duration(argv[0])})
            print(f"moved the platform clock forward by {argv[0]}: it is now {moved['now']}")
        deadline = time.monotonic() + 15
        for name, url in urls.items():
            seen = _call(url, token)
            while argv and argv[0] and seen["offset_seconds"] != moved["offset_seconds"]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not see the new time within 15 s")
                time.sleep(0.2)
                seen = _call(url, token)
            days = float(str(seen["offset_seconds"])) / 86400
            print(f"  {name:<14} {seen['now']}  (offset {days:.2f} days)")
    except urllib.error.HTTPError as error:
        print(f"error: {error.code} {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as error:
        print(f"error: {error} (is `make run` running, with CLOCK=shared?)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
