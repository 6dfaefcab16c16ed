"""Hot routes with a JSON body: validated from the raw bytes on the hot way, and every refusal —
malformed JSON, wrong types, a body over the limit, another media type — answered byte for byte as
the same endpoint declared as an ordinary FastAPI route answers it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

import pytest
from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi import routing as fastapi_routing
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict
from starlette.responses import Response

from aintech_shared.app import create_service_app, json_response
from aintech_shared.errors import Forbidden, responses
from aintech_shared.hot import HotDispatch, NotCompilable, hot_post
from aintech_shared.settings import ServiceSettings

LIMIT = 256
PATH = "/orders/place"


class BodySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOTBODY_", extra="ignore")
    service_name: ClassVar[str] = "hotbody"
    db_schema: ClassVar[str] = "hotbody"


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=20)
    count: int = Field(ge=1)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(min_length=1)
    lines: list[Line] = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Order:
        if len({line.sku for line in self.lines}) != len(self.lines):
            raise ValueError("each sku once")
        return self


async def principal(request: Request) -> str:
    who = request.headers.get("x-who")
    if who is None:
        raise Forbidden("Nobody.")
    return who


async def place(order: Order, who: Annotated[str, Depends(principal)]) -> Response:
    return json_response(
        {"by": who, "customer": order.customer, "items": sum(line.count for line in order.lines)},
        status_code=201,
    )


OPTIONS: dict[str, Any] = {
    "summary": "Place an order",
    "status_code": 201,
    "responses": responses((403, "Nobody")),
    "max_body_size": LIMIT,
}


def service_app(*, hot: bool) -> Any:
    router = APIRouter(prefix="/orders", tags=["orders"])
    if hot:
        hot_post(router, "/place", **OPTIONS)(place)
    else:
        router.add_api_route("/place", place, methods=["POST"], **OPTIONS)
    return create_service_app(
        BodySettings(), title="orders", description="orders", routers=[router], with_database=False
    )


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests (their paths) for which FastAPI's own per-request solving ran."""
    calls: list[str] = []
    original = fastapi_routing.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["request"].url.path)
        return await original(**kwargs)

    monkeypatch.setattr(fastapi_routing, "solve_dependencies", counting)
    return calls


async def post(app: Any, content: Any, headers: dict[str, str]) -> Any:
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://orders") as client:
        return await client.post(PATH, content=content, headers=headers)


async def twins(content: Any, headers: dict[str, str]) -> tuple[Any, Any]:
    """The same request to the ordinary route and to the hot one (a body stream is sent twice)."""
    answers = []
    for hot in (False, True):
        body = content() if callable(content) else content
        answers.append(await post(service_app(hot=hot), body, headers))
    return answers[0], answers[1]


JSON = {"content-type": "application/json", "x-who": "ana"}
GOOD = b'{"customer": "c-1", "lines": [{"sku": "a", "count": 2}, {"sku": "b", "count": 3}]}'


def streamed(*chunks: bytes) -> Any:
    """A body sent in chunks with no Content-Length (what FastAPI's limiter counts as it reads)."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return body


async def test_a_valid_body_is_served_hot_and_answered_as_by_fastapi(solved: list[str]) -> None:
    plain, hot = await twins(GOOD, JSON)
    assert plain.status_code == hot.status_code == 201
    assert hot.content == plain.content
    assert hot.json() == {"by": "ana", "customer": "c-1", "items": 5}
    assert hot.headers["content-type"] == plain.headers["content-type"]
    assert solved == [PATH], "only the ordinary route went through FastAPI's solving"


def test_the_hot_route_is_served_by_the_hot_table() -> None:
    app = service_app(hot=True)
    app.middleware_stack = app.build_middleware_stack()
    assert isinstance(app.middleware_stack, HotDispatch)
    assert [entry.route.path for entry in app.middleware_stack.table] == [PATH]
    assert app.middleware_stack.table[0].max_body_size == LIMIT


@pytest.mark.parametrize(
    ("name", "content", "headers", "status"),
    [
        ("malformed JSON", b'{"customer": "c-1", "lines": [', JSON, 400),
        ("not JSON at all", b"customer=c-1", JSON, 400),
        ("wrong types", b'{"customer": 5, "lines": [{"sku": "a", "count": "many"}]}', JSON, 422),
        ("a missing field", b'{"lines": [{"sku": "a", "count": 1}]}', JSON, 422),
        ("an unknown field", b'{"customer": "c", "lines": [{"sku": "a", "count": 1}], "x": 1}', JSON, 422),
        (
            "the model's own rule",
            b'{"customer": "c", "lines": [{"sku": "a", "count": 1}, {"sku": "a", "count": 2}]}',
            JSON,
            422,
        ),
        ("a JSON array", b"[1, 2]", JSON, 422),
        ("an empty body", b"", JSON, 422),
        ("text/plain", GOOD, {"content-type": "text/plain", "x-who": "ana"}, 422),
        ("no content type", GOOD, {"x-who": "ana"}, 422),
        (
            "another JSON media type",
            GOOD,
            {"content-type": "application/merge-patch+json", "x-who": "ana"},
            201,
        ),
        (
            "a charset parameter",
            GOOD,
            {"content-type": "application/json; charset=utf-8", "x-who": "ana"},
            201,
        ),
        ("a NUL in a string", b'{"customer": "c\\u0000", "lines": [{"sku": "a", "count": 1}]}', JSON, 422),
        ("UTF-16", GOOD.decode().encode("utf-16"), JSON, 201),
        ("a UTF-8 byte-order mark", b"\xef\xbb\xbf" + GOOD, JSON, 201),
        ("not UTF-8", b'{"customer": "\xff", "lines": [{"sku": "a", "count": 1}]}', JSON, 400),
        ("over the limit, declared", b"{" + b" " * LIMIT + b"}", JSON, 413),
        ("over the limit, streamed", streamed(b'{"customer": "c",', b" " * LIMIT, b"}"), JSON, 413),
        ("refused caller, bad body", b'{"customer": 5}', {"content-type": "application/json"}, 403),
        ("refused caller, malformed body", b'{"customer', {"content-type": "application/json"}, 400),
        ("refused caller, good body", GOOD, {"content-type": "application/json"}, 403),
    ],
)
async def test_every_answer_is_byte_for_byte_fastapis(
    name: str, content: Any, headers: dict[str, str], status: int
) -> None:
    plain, hot = await twins(content, headers)
    assert plain.status_code == hot.status_code == status, name
    assert hot.content == plain.content, name
    for header in ("content-type", "content-length", "connection"):
        assert hot.headers.get(header) == plain.headers.get(header), (name, header)
    if status >= 400 and status != 413:
        assert hot.headers["content-type"] == "application/problem+json"
        assert hot.json()["detail"]


async def test_a_refused_body_is_answered_by_fastapis_own_handler(solved: list[str]) -> None:
    """Wrong types after the dependencies ran (FastAPI's order); a valid body never solved."""
    app = service_app(hot=True)
    refused = await post(app, b'{"customer": 5, "lines": []}', JSON)
    served = await post(app, GOOD, JSON)
    assert (refused.status_code, served.status_code) == (422, 201)
    assert [e["field"] for e in refused.json()["errors"]] == ["customer", "lines"]
    assert solved == [PATH], "the refused body only"


async def test_dependency_overrides_send_a_hot_post_through_fastapi(solved: list[str]) -> None:
    app = service_app(hot=True)

    async def someone() -> str:
        return "overridden"

    app.dependency_overrides[principal] = someone
    answer = await post(app, GOOD, {"content-type": "application/json"})
    assert answer.status_code == 201 and answer.json()["by"] == "overridden"
    assert solved == [PATH]


def test_the_openapi_document_is_byte_identical() -> None:
    plain = json.dumps(service_app(hot=False).openapi(), sort_keys=False)
    hot = json.dumps(service_app(hot=True).openapi(), sort_keys=False)
    assert hot == plain
    assert "requestBody" in json.loads(hot)["paths"][PATH]["post"]


async def two_bodies(a: Order, b: Order) -> Response:
    return Response()


async def embedded(order: Annotated[Order, Body(embed=True)]) -> Response:
    return Response()


async def a_dict(order: dict[str, Any]) -> Response:
    return Response()


async def a_form(name: Annotated[str, Form()]) -> Response:
    return Response()


async def body_in_a_dependency_of(order: Order) -> str:
    return order.customer


async def dependency_body(who: Annotated[str, Depends(body_in_a_dependency_of)]) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [two_bodies, embedded, a_dict, a_form, dependency_body])
def test_a_body_the_hot_way_does_not_validate_is_refused_when_declared(endpoint: Any) -> None:
    with pytest.raises(NotCompilable):
        hot_post(APIRouter(), "/x")(endpoint)
