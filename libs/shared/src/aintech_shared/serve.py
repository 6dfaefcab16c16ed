"""Run a service's ASGI app with uvicorn on uvloop + httptools (both come with uvicorn[standard])."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from aintech_shared.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Blocking: serve ``app`` on the service's host and port until SIGINT/SIGTERM.

    uvicorn's own access log is off: the chassis writes one line per request
    (``ObservabilityMiddleware``) with the request id, route, status and duration.
    """
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=10,
    )
