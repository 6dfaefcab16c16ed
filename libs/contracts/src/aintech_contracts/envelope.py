"""CloudEvents 1.0 JSON envelope (structured mode) with the AINTECH correlation-id extension."""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound=BaseModel)


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
    ) -> CloudEvent:
        return cls(
            source=source,
            type=type_,
            subject=subject,
            correlationid=correlationid,
            data=payload.model_dump(mode="json"),
        )
