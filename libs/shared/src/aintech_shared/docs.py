"""The API pages (`/docs`, `/redoc`) with their assets served by the app itself, never from a CDN.

FastAPI's own pages load Swagger UI and ReDoc from jsDelivr (and ReDoc its fonts from Google): offline,
or behind a proxy that blocks them, they are blank. The assets ship in the ``fastapi-offline`` wheel
(Swagger UI 5, which reads OpenAPI 3.1; ReDoc 2) and are served under ``/docs/assets/``; the pages
ask for nothing else (no validator badge, no fonts), so they render with every request on the
platform's own origin (see ``DOCS_CSP``).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
# What the pages need: their own scripts and the inline start-up script FastAPI writes, inline
# styles, SVG icons as data: URLs, the OpenAPI document from the same origin, ReDoc's blob: worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)
SWAGGER_UI_PARAMETERS = {
    "validatorUrl": None,  # the default badge asks validator.swagger.io about the document
    "displayRequestDuration": True,
}


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI), ``/redoc`` and their assets from the app itself."""
    app.router.routes.append(Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets"))

    def openapi_url(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{app.openapi_url}"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} — API",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_PATH}",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} — API",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, methods=["GET"], include_in_schema=False)
    app.add_route(REDOC_PATH, redoc, methods=["GET"], include_in_schema=False)
