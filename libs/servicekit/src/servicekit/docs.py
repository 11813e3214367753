"""`/docs` (Swagger UI) and `/docs/asyncapi` (the AsyncAPI viewer), working with no internet: the
pages load their JS and CSS from the service itself, which serves them from packages the project
installs: Swagger UI's from the `fastapi-offline` wheel, the AsyncAPI viewer's standalone bundle
from `@asyncapi/react-component`, which the install step puts in the cache (`DOCS_ASYNCAPI_VIEWER_DIR`
names another copy, e.g. in a container image).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from servicekit.problems import Problem

SWAGGER_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
# Inside the @asyncapi/react-component package.
VIEWER_SCRIPT = Path("browser/standalone/index.js")
VIEWER_STYLES = Path("styles/default.min.css")

_SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


def find_asyncapi_viewer(configured: str | None = None) -> Path | None:
    """The installed @asyncapi/react-component package: the configured one, else the install
    step's copy in the cache (`$MENTORSHIP_CACHE`, default ~/.cache/mentorship)."""
    if configured:
        candidates = [Path(configured)]
    else:
        cache = Path(os.environ.get("MENTORSHIP_CACHE") or Path.home() / ".cache" / "mentorship")
        candidates = sorted(
            tools / "node_modules" / "@asyncapi" / "react-component"
            for tools in cache.glob("node-tools-*")
            if (tools / ".installed").is_file()
        )
    for package in reversed(candidates):
        if (package / VIEWER_SCRIPT).is_file() and (package / VIEWER_STYLES).is_file():
            return package.resolve()
    return None


def _asyncapi_page(prefix: str, viewer: Path | None) -> str:
    if viewer is None:
        body = (
            "<p>The AsyncAPI viewer is not installed here (the install step puts it in the cache; "
            "DOCS_ASYNCAPI_VIEWER_DIR names another copy). The document itself is "
            f'<a href="{prefix}/docs/asyncapi.json">asyncapi.json</a>.</p>'
        )
        head = '<!doctype html><html><head><meta charset="utf-8"><title>AsyncAPI</title></head>'
        return f"{head}<body>{body}</body></html>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>AsyncAPI</title>
<link rel="stylesheet" href="{prefix}/docs/assets/asyncapi/default.min.css">
</head><body><div id="asyncapi"></div>
<script src="{prefix}/docs/assets/asyncapi/index.js"></script>
<script>
fetch("{prefix}/docs/asyncapi.json").then(r => r.json()).then(schema => AsyncApiStandalone.render(
  {{schema, config: {{show: {{sidebar: true}}}}}}, document.getElementById("asyncapi")));
</script>
<noscript>The raw document is at <a href="{prefix}/docs/asyncapi.json">asyncapi.json</a>.</noscript>
</body></html>"""


def docs_router(*, title: str, viewer_dir: str | None) -> APIRouter:
    """The docs pages and their assets (none of them in the OpenAPI document)."""
    router = APIRouter(include_in_schema=False)
    viewer = find_asyncapi_viewer(viewer_dir)

    @router.get("/docs")
    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{prefix}{request.app.openapi_url}",
            title=f"{html.escape(title)} - API",
            swagger_js_url=f"{prefix}/docs/assets/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}/docs/assets/swagger/swagger-ui.css",
            swagger_favicon_url=f"{prefix}/docs/assets/swagger/favicon.png",
        )

    @router.get("/docs/asyncapi")
    async def asyncapi_viewer(request: Request) -> HTMLResponse:
        return HTMLResponse(_asyncapi_page(request.scope.get("root_path", ""), viewer))

    @router.get("/docs/assets/swagger/{name}")
    async def swagger_asset(name: str) -> FileResponse:
        if name not in _SWAGGER_FILES:
            raise _not_found()
        return FileResponse(SWAGGER_ASSETS / name, media_type=_SWAGGER_FILES[name], headers=_CACHE)

    @router.get("/docs/assets/asyncapi/{name}")
    async def asyncapi_asset(name: str) -> FileResponse:
        files = {
            "index.js": (VIEWER_SCRIPT, "text/javascript"),
            "default.min.css": (VIEWER_STYLES, "text/css"),
        }
        if viewer is None or name not in files:
            raise _not_found()
        path, media_type = files[name]
        return FileResponse(viewer / path, media_type=media_type, headers=_CACHE)

    return router


_CACHE = {"Cache-Control": "public, max-age=86400"}


def _not_found() -> Problem:
    return Problem(404, "Not Found", "no such documentation asset")


def install_docs(app: FastAPI, *, viewer_dir: str | None) -> None:
    """Serve the offline docs on `app` (created with docs_url=None)."""
    app.include_router(docs_router(title=app.title, viewer_dir=viewer_dir))
