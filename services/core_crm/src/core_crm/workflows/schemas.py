"""Workflow definitions (triggers, steps, conditions) and the API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StrictFloat, field_validator

from aintech_shared.jsontypes import JsonInt
from core_crm.core.types import JsonObject, LongText, Str50, Str100, Str255
from core_crm.tasks.models import TaskPriority
from core_crm.workflows.triggers import TRIGGER_EVENTS

Path = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    """`path` into the data (dotted), an operator, and the value to compare with."""

    path: Path
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"]
    value: Any = None

    @field_validator("value")
    @classmethod
    def _small(cls, value: Any) -> Any:
        if isinstance(value, (dict,)) or (isinstance(value, list) and len(value) > 100):
            raise ValueError("must be a scalar or a list of at most 100 scalars")
        if isinstance(value, str) and len(value) > 500:
            raise ValueError("at most 500 characters")
        return value


Conditions = Annotated[list[Condition], Field(default_factory=list, max_length=20)]


class ManualTrigger(_Strict):
    type: Literal["manual"] = "manual"


class EventTrigger(_Strict):
    type: Literal["event"] = "event"
    event_type: Str100 = Field(
        description="A business event of the catalogue, e.g. `policy.expiring_soon` (the list is in "
        "docs/crm.md, Workflows)."
    )
    conditions: Conditions

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TRIGGER_EVENTS:
            raise ValueError(
                "is not an event that can start a workflow; one of: " + ", ".join(sorted(TRIGGER_EVENTS))
            )
        return value


class ScheduleTrigger(_Strict):
    type: Literal["schedule"] = "schedule"
    cron: Str100 = Field(description="Five-field cron, e.g. `0 9 * * 1-5` (09:00 on weekdays).")
    timezone: Str50 = "Europe/Madrid"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError("is not a valid five-field cron expression")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a time zone name") from exc
        return value


Trigger = Annotated[ManualTrigger | EventTrigger | ScheduleTrigger, Field(discriminator="type")]


class Retry(_Strict):
    max_attempts: JsonInt = Field(default=3, ge=1, le=10)
    backoff_seconds: JsonInt = Field(
        default=30, ge=1, le=3600, description="Doubles after each failed attempt."
    )


class _Step(_Strict):
    name: Str100 | None = None
    retry: Retry = Field(default_factory=Retry)


class SendEmail(_Step):
    """Ask omnichannel to e-mail the customer (or a fixed address). `${path}` placeholders are filled."""

    type: Literal["send_email"]
    to: Literal["customer"] | EmailStr = "customer"
    subject: Str255
    body: LongText = Field(min_length=1)
    template: Str50 = "crm.workflow"


class CreateTask(_Step):
    type: Literal["create_task"]
    title: Str255
    description: LongText | None = None
    task_type: Str50 | None = None
    priority: TaskPriority = TaskPriority.medium
    due_in_hours: JsonInt = Field(default=24, ge=0, le=24 * 366)
    assigned_to: Literal["customer_owner"] | uuid.UUID | None = "customer_owner"


class UpdateRecord(_Step):
    """Change whitelisted fields of the customer or task the data points at."""

    type: Literal["update_record"]
    entity: Literal["customer", "task"]
    id_path: Path = Field(default="customer_id", description="Where the record's id is in the data.")
    set: JsonObject = Field(
        min_length=1,
        description="customer: segment, status, owner_id, add_tags; task: priority, assigned_to.",
    )

    @field_validator("set")
    @classmethod
    def _whitelist(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        allowed = {
            "customer": {"segment", "status", "owner_id", "add_tags"},
            "task": {"priority", "assigned_to"},
        }
        entity = info.data.get("entity")
        extra = set(value) - allowed.get(entity, set())
        if extra:
            raise ValueError(f"cannot set {', '.join(sorted(extra))} on a {entity}")
        return value


class CallWebhook(_Step):
    type: Literal["call_webhook"]
    url: Annotated[str, Field(min_length=8, max_length=500)]
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: dict[Str100, Str255] = Field(default_factory=dict, max_length=10)
    body: JsonObject | None = Field(default=None, description="Default: the trigger data.")
    timeout_seconds: StrictFloat = Field(default=10, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or "\x00" in value:
            raise ValueError("must be an http(s) URL with a host")
        return value


class WaitDuration(_Step):
    type: Literal["wait_duration"]
    seconds: JsonInt = Field(ge=1, le=30 * 24 * 3600, description="Up to 30 days; survives restarts.")


class ConditionCheck(_Step):
    type: Literal["condition_check"]
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=20)]
    on_false: Literal["stop", "fail"] = Field(default="stop", description="stop: end the run as completed.")


Step = Annotated[
    SendEmail | CreateTask | UpdateRecord | CallWebhook | WaitDuration | ConditionCheck,
    Field(discriminator="type"),
]

WORKFLOW_EXAMPLE: dict[str, Any] = {
    "name": "Renovación: recordatorio y seguimiento",
    "description": "Cuando una póliza vence pronto, avisa al cliente; a los 3 días, tarea de seguimiento.",
    "trigger": {
        "type": "event",
        "event_type": "policy.expiring_soon",
        "conditions": [{"path": "premium_amount", "op": "gte", "value": "300"}],
    },
    "steps": [
        {
            "type": "send_email",
            "subject": "Tu póliza ${policy_number} vence pronto",
            "body": "Hola, tu póliza vence el ${coverage_end_date}. Te llamaremos para renovarla.",
        },
        {"type": "wait_duration", "seconds": 259200},
        {"type": "create_task", "title": "Llamar para renovar ${policy_number}", "priority": "high"},
    ],
}


class Definition(_Strict):
    trigger: Trigger
    steps: Annotated[list[Step], Field(min_length=1, max_length=50)]


class WorkflowCreate(Definition):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [WORKFLOW_EXAMPLE]})

    name: Str255
    description: LongText | None = None
    active: StrictBool = True  # true or false, not 0/1


class WorkflowUpdate(_Strict):
    """Name, description and on/off; the definition changes through PUT .../definition (a new version)."""

    name: Str255 | None = None
    description: LongText | None = None
    active: StrictBool | None = None  # true or false, not 0/1 or "yes"


class ExecuteRequest(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"data": {"customer_id": "0b6a8f7e-3d1c-4a52-9d0e-8f4c2b1a7e63"}}]},
    )

    data: JsonObject = Field(
        default_factory=dict, description="The run's trigger data (placeholders read it)."
    )


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    trigger_type: str
    trigger_config: dict[str, Any]
    steps: list[dict[str, Any]]
    created_at: datetime
    created_by: uuid.UUID | None


class WorkflowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    active: bool
    current_version: int
    trigger_type: str
    event_type: str | None
    next_fire_at: datetime | None
    execution_count: int
    last_executed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    definition: VersionOut | None = None


class StepRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step_index: int
    step_type: str
    attempt: int
    status: str
    output: dict[str, Any] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class ExecutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workflow_id: uuid.UUID
    version: int
    status: str
    trigger_type: str
    trigger_data: dict[str, Any]
    current_step: int
    steps_completed: int
    steps_total: int
    attempt: int
    next_run_at: datetime | None
    error_message: str | None
    results: dict[str, Any]
    started_at: datetime
    completed_at: datetime | None
    steps: list[StepRunOut] = Field(default_factory=list)
