"""The hot route table: a GET on a hot route is served ahead of FastAPI's stack and router, with
the chassis' middleware (ids, access line, metrics) and error handlers, answering exactly as the
same endpoint declared as an ordinary route."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, ClassVar

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi import routing as fastapi_routing
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict
from starlette.responses import Response

from aintech_shared.app import create_service_app, json_response
from aintech_shared.errors import Forbidden, NotFound, responses
from aintech_shared.hot import HotDispatch, hot_get
from aintech_shared.logging import flush_logs
from aintech_shared.settings import ServiceSettings

KNOWN = uuid.UUID("6f1c1d7e-0000-4000-8000-000000000002")
BROKEN = uuid.UUID("6f1c1d7e-0000-4000-8000-00000000dead")


class HotSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOTDEMO_", extra="ignore")
    service_name: ClassVar[str] = "hotdemo"
    db_schema: ClassVar[str] = "hotdemo"


class ThingOut(BaseModel):
    id: uuid.UUID
    name: str


async def principal(request: Request) -> str:
    who = request.headers.get("x-who")
    if who is None:
        raise Forbidden("Nobody.")
    return who


Who = Annotated[str, Depends(principal)]


async def endpoint(thing_id: uuid.UUID, who: Who) -> Response:
    if thing_id == BROKEN:
        raise RuntimeError("a bug in the endpoint")
    if thing_id != KNOWN:
        raise NotFound("No such thing.")
    return json_response({"id": thing_id, "name": who}, headers={"ETag": '"1"'})


OPTIONS: dict[str, Any] = {
    "response_model": ThingOut,
    "summary": "Get a thing",
    "responses": responses((404, "No such thing")),
}


def service_app(*, shadowing: bool = False) -> Any:
    router = APIRouter(prefix="/things", tags=["things"])
    if shadowing:  # declared first, and a string matches a UUID too: the router would pick it

        @router.get("/hot/{name}")
        async def by_name(name: str) -> dict[str, str]:
            return {"by": "name", "name": name}

    router.add_api_route("/plain/{thing_id}", endpoint, methods=["GET"], **OPTIONS)
    hot_get(router, "/hot/{thing_id}", **OPTIONS)(endpoint)
    return create_service_app(
        HotSettings(), title="hot", description="hot", routers=[router], with_database=False
    )


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths FastAPI's router handled (an included router's ``handle``)."""
    seen: list[str] = []
    original = fastapi_routing._IncludedRouter.handle

    async def handle(self: Any, scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(fastapi_routing._IncludedRouter, "handle", handle)
    return seen


async def get(app: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://hot") as client:
        return await client.get(path, headers=headers or {})


def access_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"http_request"' in line]


def requests_counted(route: str, status: int) -> float:
    value = REGISTRY.get_sample_value(
        "http_requests_total", {"service": "hotdemo", "method": "GET", "route": route, "status": str(status)}
    )
    return value or 0.0


async def test_a_hot_get_skips_the_router_and_answers_as_its_ordinary_twin(
    routed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = service_app()
    ids = {"x-who": "ana", "x-request-id": "req-hot-1", "x-correlation-id": "corr-hot-1"}
    counted = requests_counted("/things/hot/{thing_id:uuid}", 200)
    flush_logs()  # lines are written by the log writer's thread
    capsys.readouterr()
    plain = await get(app, f"/things/plain/{KNOWN}", ids)
    hot = await get(app, f"/things/hot/{KNOWN}", ids)
    flush_logs()  # lines are written by the log writer's thread
    lines = access_lines(capsys.readouterr().out)

    assert routed == [f"/things/plain/{KNOWN}"], "the hot GET never reached FastAPI's router"
    assert plain.status_code == hot.status_code == 200
    assert hot.content == plain.content
    for header in ("etag", "content-type", "content-length", "x-request-id", "x-correlation-id"):
        assert hot.headers[header] == plain.headers[header], header
    assert hot.headers["x-request-id"] == "req-hot-1"
    assert [(line["route"], line["status"], line["request_id"]) for line in lines] == [
        ("/things/plain/{thing_id:uuid}", 200, "req-hot-1"),
        ("/things/hot/{thing_id:uuid}", 200, "req-hot-1"),
    ]
    assert requests_counted("/things/hot/{thing_id:uuid}", 200) == counted + 1


@pytest.mark.parametrize(
    ("thing_id", "headers", "status"),
    [
        (KNOWN, {}, 403),  # a dependency refuses
        (uuid.UUID(int=7), {"x-who": "ana"}, 404),  # the endpoint refuses
        (BROKEN, {"x-who": "ana"}, 500),  # the endpoint fails: the app's 500 handler answers
    ],
)
async def test_a_hot_gets_errors_are_its_twins_problem_documents(
    routed: list[str], capsys: pytest.CaptureFixture[str], thing_id: uuid.UUID, headers: Any, status: int
) -> None:
    app = service_app()
    flush_logs()  # lines are written by the log writer's thread
    capsys.readouterr()
    plain = await get(app, f"/things/plain/{thing_id}", headers)
    hot = await get(app, f"/things/hot/{thing_id}", headers)
    flush_logs()  # lines are written by the log writer's thread
    lines = access_lines(capsys.readouterr().out)

    assert routed == [f"/things/plain/{thing_id}"]
    assert plain.status_code == hot.status_code == status
    assert hot.headers["content-type"] == plain.headers["content-type"] == "application/problem+json"
    assert hot.json() == json.loads(plain.text.replace("/things/plain/", "/things/hot/"))
    assert hot.headers.get("connection") == plain.headers.get("connection")
    if status == 500:
        assert hot.headers["connection"] == "close"
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/things/plain/{thing_id:uuid}", status),
        ("/things/hot/{thing_id:uuid}", status),
    ]


async def test_a_hot_route_another_route_would_shadow_stays_with_the_router(routed: list[str]) -> None:
    app = service_app(shadowing=True)
    answer = await get(app, f"/things/hot/{KNOWN}", {"x-who": "ana"})
    assert answer.json() == {"by": "name", "name": str(KNOWN)}, "the route declared first still wins"
    assert routed == [f"/things/hot/{KNOWN}"]
    assert isinstance(app.middleware_stack, HotDispatch) and app.middleware_stack.table == []


async def test_dependency_overrides_send_hot_gets_through_the_router(routed: list[str]) -> None:
    app = service_app()

    async def someone() -> str:
        return "overridden"

    app.dependency_overrides[principal] = someone
    answer = await get(app, f"/things/hot/{KNOWN}")
    assert answer.json() == {"id": str(KNOWN), "name": "overridden"}
    assert routed == [f"/things/hot/{KNOWN}"]


async def test_other_methods_and_paths_take_fastapis_way(routed: list[str]) -> None:
    app = service_app()
    refused = await get(app, "/things/hot/not-a-uuid", {"x-who": "ana"})
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://hot") as client:
        deleted = await client.delete(f"/things/hot/{KNOWN}", headers={"x-who": "ana"})
    assert deleted.status_code == 405 and deleted.headers["allow"] == "GET"
    assert routed == [f"/things/hot/{KNOWN}"], "only a path some route matches is handled by one"


def test_the_hot_route_is_documented_exactly_as_its_twin() -> None:
    paths = service_app().openapi()["paths"]
    plain = paths["/things/plain/{thing_id}"]["get"]
    hot = paths["/things/hot/{thing_id}"]["get"]
    for operation in (plain, hot):
        operation.pop("operationId")
    assert hot == plain
