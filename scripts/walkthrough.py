"""Run the README's walkthrough (section "Walkthrough") exactly as written, block by block, in one bash
shell, and check after each block what the README says a newcomer should see, so the README cannot
silently rot. The expectations live in `walkthrough_steps.py`, one per block.

    .venv/bin/python -m scripts.walkthrough            # against `make run` (fresh: make reset first)
    .venv/bin/python -m scripts.walkthrough --profiles http://127.0.0.1:9001 --matching ... \\
        --sessions ... --notifications ... --secret <AUTH_DEV_HS256_SECRET>

With `--secret`, `make -s token ...` and `make clock ADVANCE=...` in the README are answered by this
script (a development token signed with the secret; the clock moved through `/dev/clock/advance` of
the given services) and `localhost:800N` becomes the given URL; without it, they run as written.
A block that only reads is run again until its expectation holds (events take a moment to travel),
for at most `--wait` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from scripts.walkthrough_steps import STEPS, Step, StepFailed

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SECTION = "## Walkthrough"
MAKE_RUN_URLS = {
    "profiles": "http://localhost:8001",
    "matching": "http://localhost:8002",
    "sessions": "http://localhost:8003",
    "notifications": "http://localhost:8004",
}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Bash answers `make -s token` and `make clock` through this script when it has the secret.
MAKE_SHIM = 'make() { (cd "$WALKTHROUGH_REPO" && "$WALKTHROUGH_PYTHON" -m scripts.walkthrough make "$@"); }\n'


class WalkthroughFailed(Exception):
    """A block's output is not what the README promises (or the README and the checks disagree)."""


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the README's walkthrough section, in order."""
    start = readme.find(f"\n{SECTION}")
    if start < 0:
        raise WalkthroughFailed(f"README.md has no section starting with {SECTION!r}")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end >= 0 else len(readme)]
    return [block.strip("\n") for block in re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S)]


@dataclass(frozen=True)
class Platform:
    """Where the services are, and how bash gets tokens and moves the clock."""

    urls: dict[str, str] = field(default_factory=lambda: dict(MAKE_RUN_URLS))
    secret: str | None = None  # None: the README's `make` commands run as written

    def commands(self, block: str) -> str:
        """The block as bash runs it: make run's addresses replaced by these services'."""
        for name, default in MAKE_RUN_URLS.items():
            block = block.replace(default.removeprefix("http://"), self.urls[name].removeprefix("http://"))
        return block

    def shell_env(self) -> dict[str, str]:
        if self.secret is None:
            return {}
        return {
            "WALKTHROUGH_PYTHON": sys.executable,
            "WALKTHROUGH_REPO": str(REPO),
            "WALKTHROUGH_SECRET": self.secret,
            "WALKTHROUGH_URLS": json.dumps(self.urls),
        }


class Shell:
    """One bash process that runs the blocks in turn, so variables set by one block are there for
    the next, as in the terminal of someone following the README."""

    def __init__(self, platform: Platform) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="walkthrough-")
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env={**os.environ, **platform.shell_env()},
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if platform.secret is not None:
            self.run(MAKE_SHIM, timeout=10)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def run(self, commands: str, timeout: float = 120) -> str:
        """Run `commands` as a sourced script (stdin from /dev/null); their output (stdout and stderr)."""
        script = Path(self._dir.name) / f"{uuid.uuid4().hex}.sh"
        script.write_text(commands + "\n")
        marker = f"__walkthrough_done_{uuid.uuid4().hex}__"
        assert self._process.stdin is not None
        self._process.stdin.write(f"source {shlex.quote(str(script))} </dev/null; printf '\\n{marker}\\n'\n")
        self._process.stdin.flush()
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise WalkthroughFailed(
                    f"no end after {timeout}s; output so far:\n{''.join(lines)}"
                ) from None
            if line is None:
                raise WalkthroughFailed(f"bash exited; output:\n{''.join(lines)}")
            if line.rstrip("\n") == marker:
                return "".join(lines).removesuffix("\n")
            lines.append(line)

    def var(self, name: str) -> str:
        return self.run(f'printf "%s" "${{{name}}}"')

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._dir.cleanup()

    def __enter__(self) -> Shell:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def run(platform: Platform, *, wait_seconds: float = 60, echo: bool = True, show: bool = False) -> list[str]:
    """Run every walkthrough block against `platform` and check it; the titles of the steps passed."""
    blocks = walkthrough_blocks(README.read_text())
    if len(blocks) != len(STEPS):
        raise WalkthroughFailed(
            f"the README's walkthrough has {len(blocks)} blocks; {len(STEPS)} are checked"
        )
    passed: list[str] = []
    with Shell(platform) as shell:
        for number, (block, step) in enumerate(zip(blocks, STEPS, strict=True), start=1):
            if step.marker not in block:
                raise WalkthroughFailed(f"block {number} should contain {step.marker!r} ({step.title})")
            output = _checked(shell, platform.commands(block), step, wait_seconds, f"step {number}")
            passed.append(step.title)
            if echo:
                print(f"ok {number:2} {step.title}", flush=True)
            if show:
                print(f"$ {block}\n{output}\n", flush=True)
    return passed


def _checked(shell: Shell, commands: str, step: Step, wait_seconds: float, name: str) -> str:
    """Run the block and check its output; a read runs again until it holds or time is up."""
    deadline = time.monotonic() + wait_seconds
    while True:
        output = shell.run(commands)
        try:
            step.check(output, shell)
            return output
        except StepFailed as failure:
            if not step.read_only or time.monotonic() > deadline:
                raise WalkthroughFailed(
                    f"{name} ({step.title}): {failure}\n--- block\n{commands}\n--- output\n{output}"
                ) from None
        time.sleep(1)  # a read: give the events time to arrive, then read again


def parse_duration(text: str) -> float:
    """'3d' -> 259200.0; '1d12h'; '45' (seconds): the forms `make clock ADVANCE=` takes."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw]?)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * UNITS[unit or "s"] for number, unit in parts)


def make_shim(argv: list[str]) -> int:
    """`make -s token PERSON= ORG= ROLES=` and `make clock ADVANCE=` for services that are not
    make run's: the token signed with WALKTHROUGH_SECRET, the clock moved on WALKTHROUGH_URLS."""
    import httpx
    from servicekit.auth import issue_dev_token

    targets = [arg for arg in argv if not arg.startswith("-") and "=" not in arg]
    settings = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    secret, urls = os.environ["WALKTHROUGH_SECRET"], json.loads(os.environ["WALKTHROUGH_URLS"])
    if targets == ["token"]:
        roles = settings.get("ROLES", "employee").split(",")
        print(
            issue_dev_token(
                secret, sub=settings.get("PERSON", "alice"), org=settings.get("ORG", "demo"), roles=roles
            )
        )
        return 0
    if targets != ["clock"]:
        print(f"walkthrough: make {' '.join(argv)} is not something the walkthrough knows", file=sys.stderr)
        return 2
    headers = {
        "Authorization": f"Bearer {issue_dev_token(secret, sub='clock', org='demo', roles=['program_admin'])}"
    }
    with httpx.Client(headers=headers, timeout=10) as http:
        if advance := settings.get("ADVANCE"):
            moved = http.post(
                f"{urls['profiles']}/dev/clock/advance", json={"seconds": parse_duration(advance)}
            )
            moved.raise_for_status()
            print(f"moved the platform clock forward by {advance}: it is now {moved.json()['now']}")
        for name, url in urls.items():
            deadline = time.monotonic() + 15
            seen = http.get(f"{url}/dev/clock").json()
            while advance and seen["offset_seconds"] < moved.json()["offset_seconds"]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not see the new time within 15 s")
                time.sleep(0.1)
                seen = http.get(f"{url}/dev/clock").json()
            print(f"  {name:<14} {seen['now']}  (offset {seen['offset_seconds'] / 86400:.2f} days)")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["make"]:
        return make_shim(argv[1:])
    parser = argparse.ArgumentParser(description="Run and check the README's walkthrough.")
    for name, url in MAKE_RUN_URLS.items():
        parser.add_argument(f"--{name}", default=url, help=f"{name}'s base URL (default {url})")
    parser.add_argument(
        "--secret", help="the services' AUTH_DEV_HS256_SECRET (default: use make token/clock)"
    )
    parser.add_argument("--wait", type=float, default=60, help="seconds a read may wait for events")
    parser.add_argument("--show", action="store_true", help="print each block and its output")
    args = parser.parse_args(argv)
    platform = Platform({name: getattr(args, name).rstrip("/") for name in MAKE_RUN_URLS}, args.secret)
    try:
        run(platform, wait_seconds=args.wait, show=args.show)
    except WalkthroughFailed as failure:
        print(f"FAILED {failure}", file=sys.stderr)
        return 1
    print("the walkthrough works as the README says")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
