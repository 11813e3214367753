"""/docs and /docs/asyncapi work with no internet: opened in a real headless browser (Debian's
chromium) that may reach nothing but the service, each page renders every operation and channel."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator

import httpx
import pytest
from localstack.errors import InstallError, MissingTool
from localstack.node_tools import ensure_chromium, install_node_tools

from tests.http.service_apps import SERVICES, create_app, settings_for, uvicorn_server

# Nothing but the service answers: a page that needed a CDN would stay blank.
_OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    _OFFLINE,
    "--virtual-time-budget=10000",
    "--dump-dom",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        path = ensure_chromium()
    except InstallError as error:
        pytest.skip(f"chromium could not be installed: {error}")
    if path is None:
        pytest.skip("chromium is not installed and cannot be here (not root, or no apt-get)")
    return path


@pytest.fixture(scope="module")
def viewer_installed() -> None:
    try:
        install_node_tools()  # a no-op once the install step did it
    except MissingTool as missing:
        pytest.skip(f"the AsyncAPI viewer comes from npm: {missing}")


@pytest.fixture(params=SERVICES)
def service_url(request: pytest.FixtureRequest, viewer_installed: None) -> Iterator[tuple[str, str]]:
    service: str = request.param
    with uvicorn_server(create_app(service, settings_for(service))) as base_url:
        yield service, base_url


def _get(url: str) -> httpx.Response:
    # The first /openapi.json builds the schema (0.5 s for matching on a quiet machine); beside the
    # other test worker and a browser it once took longer than httpx's default 5 s.
    return httpx.get(url, timeout=60)


def _rendered(chromium: str, url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium, *_FLAGS, f"--user-data-dir={profile}", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _external_assets(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page)


def test_swagger_ui_renders_every_operation_offline(chromium: str, service_url: tuple[str, str]) -> None:
    service, base_url = service_url
    page = _get(f"{base_url}/docs")
    assert page.status_code == 200
    assert _external_assets(page.text) == []
    document = _get(f"{base_url}/openapi.json").json()

    dom = _rendered(chromium, f"{base_url}/docs")
    rendered_paths = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert rendered_paths == set(document["paths"]), f"{service}: Swagger UI did not render every operation"


def test_asyncapi_viewer_renders_every_channel_and_operation_offline(
    chromium: str, service_url: tuple[str, str]
) -> None:
    service, base_url = service_url
    page = _get(f"{base_url}/docs/asyncapi")
    assert page.status_code == 200
    assert _external_assets(page.text) == []
    document = _get(f"{base_url}/docs/asyncapi.json").json()

    dom = _rendered(chromium, f"{base_url}/docs/asyncapi")
    missing_channels = [c["address"] for c in document["channels"].values() if c["address"] not in dom]
    missing_operations = [operation_id for operation_id in document["operations"] if operation_id not in dom]
    assert missing_channels == [], f"{service}: channels not rendered"
    assert missing_operations == [], f"{service}: operations not rendered"
    assert "Error" not in re.sub(r"<[^>]+>", " ", dom).split("Operations")[0], "the viewer reported an error"
