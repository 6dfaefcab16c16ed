"""CloudEvents 1.0 JSON envelope and its Kafka protocol binding (structured content mode).

On Kafka every event travels whole, as JSON, in the message value; the only header is
``content-type: application/cloudevents+json; charset=UTF-8`` (no ``ce_*`` headers, which belong
to binary mode); the message key is the ``partitionkey`` extension attribute (the aggregate id).
Extensions: ``correlationid`` (the work the event belongs to, carried across services),
``partitionkey`` and, when tracing is on, ``traceparent``/``tracestate`` (W3C Trace Context, the
CloudEvents distributed-tracing extension).
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound=BaseModel)

CONTENT_TYPE_HEADER = "content-type"
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
STRUCTURED_CONTENT_TYPE = f"{STRUCTURED_MEDIA_TYPE}; charset=UTF-8"
# The headers of a Kafka message in structured mode: the content type, nothing else.
KAFKA_HEADERS: list[tuple[str, bytes]] = [(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())]


def is_structured_content_type(value: str | bytes | None) -> bool:
    """True when a Kafka ``content-type`` header announces a structured-mode JSON CloudEvent."""
    if value is None:
        return False
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    media_type, _, params = text.partition(";")
    if media_type.strip().lower() != STRUCTURED_MEDIA_TYPE:
        return False
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


class CloudEvent(BaseModel):
    """The envelope every event travels in."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str | None = None
    partitionkey: str | None = None
    # W3C Trace Context (the CloudEvents distributed-tracing extension): the span that published.
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def data_as(self, model: builtins.type[T]) -> T:
        """The payload validated as its catalogue model."""
        return model.model_validate(self.data)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)

    @classmethod
    def wrap(
        cls,
        payload: BaseModel,
        *,
        type_: str,
        source: str,
        subject: str | None,
        correlationid: str | None = None,
        partitionkey: str | None = None,
        traceparent: str | None = None,
    ) -> CloudEvent:
        return cls(
            source=source,
            type=type_,
            subject=subject,
            correlationid=correlationid,
            partitionkey=partitionkey,
            traceparent=traceparent,
            data=payload.model_dump(mode="json"),
        )
