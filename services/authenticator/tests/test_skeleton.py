"""authenticator serves health, readiness and metrics, and speaks problem+json."""

from httpx import ASGITransport, AsyncClient

from authenticator.app import create_app
from authenticator.settings import Settings


async def test_health_ready_metrics_and_unknown_route() -> None:
    app = create_app(Settings())
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": "authenticator"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == {"ok": True}
        assert "http_requests_total" in (await client.get("/metrics")).text
        missing = await client.get("/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
