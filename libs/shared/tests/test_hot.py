"""Hot routes answer exactly as their FastAPI twins, without FastAPI's per-request solving."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import routing as fastapi_routing
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel
from starlette.responses import Response

from aintech_shared.app import json_response
from aintech_shared.errors import Forbidden, NotFound, install_error_handlers, responses
from aintech_shared.hot import HotRoute, NotCompilable, hot_get
from aintech_shared.routing import constrain_path_parameters

KNOWN = uuid.UUID("6f1c1d7e-0000-4000-8000-000000000001")


class ThingOut(BaseModel):
    id: uuid.UUID
    name: str


class Ledger:
    """What the dependencies did, in order (shared by both twins of a test)."""

    def __init__(self) -> None:
        self.events: list[str] = []


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


async def principal(request: Request) -> str:
    _ledger(request).events.append("principal")
    who = request.headers.get("x-who")
    if who is None:
        raise Forbidden("Nobody.")
    return who


async def connection(request: Request) -> AsyncIterator[dict[str, Any]]:
    events = _ledger(request).events
    conn = {"open": True, "id": len(events)}
    events.append("connect")
    try:
        yield conn
    finally:
        conn["open"] = False
        events.append("release")


Conn = Annotated[dict[str, Any], Depends(connection, scope="function")]


async def viewer(request: Request, who: Annotated[str, Depends(principal)], conn: Conn) -> str:
    _ledger(request).events.append(f"viewer:{conn['id']}")
    return who


Viewer = Annotated[str, Depends(viewer)]


async def endpoint(request: Request, thing_id: uuid.UUID, who: Viewer, conn: Conn) -> Response:
    assert conn["open"]
    _ledger(request).events.append(f"endpoint:{conn['id']}")
    if thing_id != KNOWN:
        raise NotFound("No such thing.")
    return json_response({"id": thing_id, "name": who}, headers={"ETag": '"1"'})


def build(ledger: Ledger, *, constrained: bool = True) -> tuple[FastAPI, APIRouter]:
    router = APIRouter(prefix="/things", tags=["things"])
    options: dict[str, Any] = {
        "response_model": ThingOut,
        "summary": "Get a thing",
        "responses": responses((404, "No such thing")),
    }
    router.add_api_route("/plain/{thing_id}", endpoint, methods=["GET"], **options)
    hot_get(router, "/hot/{thing_id}", **options)(endpoint)
    app = FastAPI()
    app.state.ledger = ledger
    install_error_handlers(app)
    if constrained:
        constrain_path_parameters(router)
    app.include_router(router)
    return app, router


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times FastAPI's own per-request solving ran."""
    calls: list[int] = []
    original = fastapi_routing.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        calls.append(1)
        return await original(**kwargs)

    monkeypatch.setattr(fastapi_routing, "solve_dependencies", counting)
    return calls


async def twins(path: str, headers: dict[str, str] | None = None) -> tuple[Any, Any, Ledger, Ledger]:
    answers, ledgers = [], []
    for kind in ("plain", "hot"):
        ledger = Ledger()
        app, _ = build(ledger)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            answers.append(await client.get(f"/things/{kind}/{path}", headers=headers or {}))
        ledgers.append(ledger)
    return answers[0], answers[1], ledgers[0], ledgers[1]


async def test_a_hot_route_answers_as_its_fastapi_twin_without_fastapis_solving(solved: list[int]) -> None:
    plain, hot, plain_ledger, hot_ledger = await twins(str(KNOWN), {"x-who": "ana"})
    assert plain.status_code == hot.status_code == 200
    assert hot.content == plain.content
    assert hot.headers["etag"] == plain.headers["etag"] == '"1"'
    assert hot.headers["content-type"] == plain.headers["content-type"]
    # Same dependencies in the same order; the connection is shared (cached) and released
    # before the answer is sent, as FastAPI does with scope="function".
    assert (
        hot_ledger.events
        == plain_ledger.events
        == [
            "principal",
            "connect",
            "viewer:1",
            "endpoint:1",
            "release",
        ]
    )
    assert len(solved) == 1  # the plain twin only


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (str(KNOWN), None, 403),  # a dependency refuses
        (str(uuid.uuid4()), {"x-who": "ana"}, 404),  # the endpoint refuses
        ("not-a-uuid", {"x-who": "ana"}, 404),  # the router refuses (no route)
    ],
)
async def test_a_hot_routes_errors_are_its_twins_problem_documents(
    path: str, headers: dict[str, str] | None, status: int
) -> None:
    plain, hot, plain_ledger, hot_ledger = await twins(path, headers)
    assert plain.status_code == hot.status_code == status
    assert hot.headers["content-type"] == plain.headers["content-type"] == "application/problem+json"
    assert hot.json() == json.loads(plain.text.replace("/things/plain/", "/things/hot/"))  # same but its path
    assert hot_ledger.events == plain_ledger.events


def test_a_hot_route_documents_exactly_what_its_twin_does() -> None:
    app, _ = build(Ledger())
    paths = app.openapi()["paths"]
    plain = paths["/things/plain/{thing_id}"]["get"]
    hot = paths["/things/hot/{thing_id}"]["get"]
    for operation in (plain, hot):
        operation.pop("operationId")
    assert hot == plain


async def test_dependency_overrides_get_fastapis_own_solving(solved: list[int]) -> None:
    ledger = Ledger()
    app, _ = build(ledger)
    _, router = build(Ledger())
    assert any(isinstance(r, HotRoute) for r in router.routes)

    async def someone_else() -> str:
        return "override"

    app.dependency_overrides[principal] = someone_else
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.get(f"/things/hot/{KNOWN}")
    assert answer.status_code == 200
    assert answer.json()["name"] == "override"
    assert len(solved) == 1


async def test_path_values_the_router_did_not_convert_get_fastapis_validation(solved: list[int]) -> None:
    answers = {}
    for kind in ("plain", "hot"):
        app, _ = build(Ledger(), constrained=False)  # no UUID convertor: the path value is text
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            good = await client.get(f"/things/{kind}/{KNOWN}", headers={"x-who": "ana"})
            bad = await client.get(f"/things/{kind}/not-a-uuid", headers={"x-who": "ana"})
        answers[kind] = (good, bad)
    for plain, hot in zip(answers["plain"], answers["hot"], strict=True):
        assert hot.status_code == plain.status_code
        assert hot.json() == json.loads(plain.text.replace("/things/plain/", "/things/hot/"))
    assert [a.status_code for a in answers["hot"]] == [200, 422]
    assert len(solved) == 4  # every request, hot ones included, went through FastAPI's solving


async def query_dependency(q: str) -> str:
    return q


async def with_query(value: Annotated[str, Depends(query_dependency)]) -> Response:  # a dependency's query
    return Response()


def blocking() -> str:
    return "x"


async def with_sync(value: Annotated[str, Depends(blocking)]) -> Response:
    return Response()


def test_a_graph_the_plan_cannot_resolve_is_refused_when_declared() -> None:
    router = APIRouter()

    async def returns_a_model() -> ThingOut:
        return ThingOut(id=KNOWN, name="x")

    async def with_text_path(name: str) -> Response:
        return Response()

    for path, endpoint in (
        ("/q", with_query),
        ("/sync", with_sync),
        ("/model", returns_a_model),
        ("/text/{name}", with_text_path),
    ):
        with pytest.raises(NotCompilable):
            hot_get(router, path)(endpoint)


class Colour(StrEnum):
    red = "red"
    blue = "blue"


async def listing(
    request: Request,
    who: Viewer,
    conn: Conn,
    limit: int = 10,
    tag: Annotated[list[str] | None, Query()] = None,
    colour: Colour = Colour.red,
    status_: Annotated[list[Colour] | None, Query(alias="status")] = None,
    since: Annotated[int, Query(ge=0)] = 0,
    words: Annotated[list[str], Query()] = ["a"],  # noqa: B006 (a mutable default: FastAPI copies it)
    bounded: Annotated[int, Query(ge=5)] = 1,  # an invalid default FastAPI does not validate
) -> Response:
    _ledger(request).events.append(f"listing:{conn['id']}")
    return json_response(
        {
            "who": who,
            "limit": limit,
            "tag": tag,
            "colour": colour,
            "status": status_,
            "since": since,
            "words": words,
            "bounded": bounded,
        }
    )


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("?limit=3&tag=a&tag=b", {"x-who": "ana"}, 200),
        ("", {"x-who": "ana"}, 200),  # defaults
        ("?limit=&tag=&colour=", {"x-who": "ana"}, 422),  # present but empty: validated, not defaults
        ("?status=blue&status=red&since=4&words=b", {"x-who": "ana"}, 200),  # by alias, repeated
        ("?status_=blue&colour=green&since=-1", {"x-who": "ana"}, 422),  # the name is no key
        ("?bounded=2&words=", {"x-who": "ana"}, 422),
        ("?limit=many&tag=a", {"x-who": "ana"}, 422),  # FastAPI's validation, FastAPI's errors
        ("?limit=many", None, 403),  # the dependencies run first: refused before the query is read
    ],
)
async def test_an_endpoints_query_parameters_are_validated_as_fastapi_does(
    solved: list[int], query: str, headers: dict[str, str] | None, status: int
) -> None:
    answers, ledgers = [], []
    for kind in ("plain", "hot"):
        ledger = Ledger()
        router = APIRouter(prefix="/lists")
        if kind == "plain":
            router.add_api_route("/plain", listing, methods=["GET"])
        else:
            hot_get(router, "/hot")(listing)
        app = FastAPI()
        app.state.ledger = ledger
        install_error_handlers(app)
        app.include_router(router)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            answers.append(await client.get(f"/lists/{kind}{query}", headers=headers or {}))
        ledgers.append(ledger)
    plain, hot = answers
    assert plain.status_code == hot.status_code == status
    assert hot.json() == json.loads(plain.text.replace("/lists/plain", "/lists/hot"))
    assert ledgers[0].events == ledgers[1].events
    assert len(solved) == 1  # the plain twin only
