"""Runs workflow executions step by step, durably.

Every step's outcome is a row (``workflow_step_runs``) written in the same transaction as its
effects (tasks, events in the outbox). A step that raises is rolled back to a savepoint, its
error recorded, and the execution set to retry after a backoff; after the last attempt the
execution is ``failed`` at that step and can be retried from there. A wait stores its resume
time; the worker's job picks due executions with ``FOR UPDATE SKIP LOCKED``, so a restart (or
a second worker) resumes them exactly once.

A ``call_webhook`` step is not made inside that transaction: the step is *claimed* (a ``running``
attempt, the execution ``running`` with a lease of the call's timeout plus a margin in
``next_run_at``) and committed; the call is made with no transaction open; its outcome is then
recorded in a new transaction, and the execution goes on from there. So a slow target holds no
lock and delays no other run. The outcome is recorded only while the attempt is still the
execution's open one, so a late answer after the lease ran out changes nothing; a worker that
stopped during the call leaves the attempt open, and when the lease runs out the next pass marks
it failed ("no outcome") and retries by the step's policy. Every call carries an
``Idempotency-Key`` (execution, step) so the target can recognise a repeat.
"""

from __future__ import annotations

import re
import string
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import EmailRequested
from aintech_contracts.statuses import CustomerSegment, CustomerStatus
from aintech_shared.context import correlation_id_var
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.tasks import service as tasks
from core_crm.workflows import conditions, repository, webhook
from core_crm.workflows.models import ExecutionStatus, WorkflowExecution, WorkflowStepRun
from core_crm.workflows.schemas import Step

log = structlog.get_logger("crm.workflows")
STEP = TypeAdapter(Step)
WORKFLOW_CORRELATION_PREFIX = "workflow-"

# The statuses a workflow may give a customer (merging, erasure and deletion have their own paths).
WORKFLOW_CUSTOMER_STATUSES = (CustomerStatus.active, CustomerStatus.inactive, CustomerStatus.prospect)


class StepError(Exception):
    """A step failed in a way worth retrying."""


class StepRefused(Exception):
    """A step can never succeed with this data (no retry)."""


class _PathTemplate(string.Template):
    delimiter = "$"
    idpattern = r"(?a:[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)"
    flags = re.IGNORECASE


class _Lookup(dict[str, Any]):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self.data = data

    def __getitem__(self, key: str) -> Any:
        value = conditions.resolve(self.data, key)
        if value is conditions._MISSING or value is None:
            raise KeyError(key)
        return value


def render(text: str, data: dict[str, Any]) -> str:
    """Fill ``${path}`` placeholders from the data; unknown ones stay as written."""
    return _PathTemplate(text).safe_substitute(_Lookup(data))


def _uuid_at(data: dict[str, Any], path: str) -> uuid.UUID:
    value = conditions.resolve(data, path)
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise StepRefused(f"no record id at `{path}`") from None


async def _send_email(
    session: AsyncSession, rt: Runtime, step: Any, data: dict[str, Any], request_id: uuid.UUID
) -> dict[str, Any]:
    to_name = None
    customer_id = None
    if step.to == "customer":
        customer = await customers.internal_get(session, customer_id=_uuid_at(data, "customer_id"))
        if customer is None or not customer.email:
            raise StepRefused("the customer has no e-mail address")
        address, to_name, customer_id = (
            customer.email,
            f"{customer.first_name} {customer.last_name}",
            customer.id,
        )
        data = {**data, "customer": {"first_name": customer.first_name, "last_name": customer.last_name}}
    else:
        address = str(step.to)
    await rt.outbox.publish(
        session,
        EmailRequested(
            request_id=request_id,
            to=address,
            to_name=to_name,
            subject=render(step.subject, data)[:255],
            body_text=render(step.body, data),
            template=step.template,
            customer_id=customer_id,
            variables={k: str(v)[:500] for k, v in data.items() if isinstance(v, (str, int, float))},
            related_type="workflow_execution",
        ),
        key=str(customer_id or request_id),
    )
    return {"to": address, "request_id": str(request_id)}


async def _create_task(
    session: AsyncSession, rt: Runtime, step: Any, data: dict[str, Any], key: str
) -> dict[str, Any]:
    customer_id = None
    owner = None
    raw = conditions.resolve(data, "customer_id")
    if raw is not conditions._MISSING and raw is not None:
        customer = await customers.internal_get(session, customer_id=_uuid_at(data, "customer_id"))
        if customer is not None:
            customer_id, owner = customer.id, customer.owner_id
    assignee = owner if step.assigned_to == "customer_owner" else step.assigned_to
    task = await tasks.create_task(
        session,
        rt=rt,
        title=render(step.title, data)[:255],
        description=render(step.description, data) if step.description else None,
        task_type=step.task_type or "workflow",
        priority=step.priority.value,
        assigned_to=assignee,
        customer_id=customer_id,
        due_date=utcnow() + timedelta(hours=step.due_in_hours),
        created_by=None,
        dedupe_key=key,
    )
    return {"task_id": str(task.id)}


async def _update_record(
    session: AsyncSession, rt: Runtime, step: Any, data: dict[str, Any]
) -> dict[str, Any]:
    record_id = _uuid_at(data, step.id_path)
    changes = dict(step.set)
    if step.entity == "customer":
        if "segment" in changes and changes["segment"] not in {s.value for s in CustomerSegment}:
            raise StepRefused(f"unknown segment {changes['segment']!r}")
        if "status" in changes and changes["status"] not in WORKFLOW_CUSTOMER_STATUSES:
            raise StepRefused(f"status {changes['status']!r} cannot be set by a workflow")
        if "owner_id" in changes:
            changes["owner_id"] = _uuid_at(changes, "owner_id")
        try:
            await customers.automated_update(session, rt=rt, customer_id=record_id, changes=changes)
        except Exception as exc:
            raise StepRefused(str(exc)) from exc
    else:
        if "assigned_to" in changes:
            changes["assigned_to"] = _uuid_at(changes, "assigned_to")
        if "priority" in changes and changes["priority"] not in ("low", "medium", "high", "urgent"):
            raise StepRefused(f"unknown priority {changes['priority']!r}")
        try:
            await tasks.update_task(session, task_id=record_id, changes=changes)
        except Exception as exc:
            raise StepRefused(str(exc)) from exc
    return {"entity": step.entity, "id": str(record_id), "set": sorted(changes)}


# Time given to the worker beyond the call's own timeout before a claimed call counts as lost.
LEASE_MARGIN = timedelta(seconds=30)
LOST_CALL = "no outcome recorded: the worker stopped during the call"


@dataclass(frozen=True)
class WebhookCall:
    """A claimed ``call_webhook`` attempt, to be made outside any transaction."""

    execution_id: uuid.UUID
    run_id: uuid.UUID
    step_index: int
    url: str
    method: str
    headers: dict[str, str]
    body: Any
    timeout_seconds: float


@dataclass(frozen=True)
class WebhookOutcome:
    output: dict[str, Any] | None = None
    error: str | None = None
    retryable: bool = True


async def call_webhook(rt: Runtime, call: WebhookCall) -> WebhookOutcome:
    """Make a claimed webhook call (no database work); never raises."""
    settings = rt.settings
    try:
        result = await webhook.call(
            call.url,
            method=call.method,
            headers={**call.headers, "Idempotency-Key": f"workflow:{call.execution_id}:{call.step_index}"},
            body=call.body,
            timeout_seconds=call.timeout_seconds,
            max_bytes=settings.webhook_max_response_bytes,
            allowlist=settings.webhook_allowlist,
        )
    except webhook.WebhookRefused as exc:
        return WebhookOutcome(error=f"StepRefused: {exc}", retryable=False)
    except webhook.WebhookFailed as exc:
        return WebhookOutcome(error=f"StepError: {exc}")
    except Exception as exc:  # an unexpected failure of the call counts as a failed attempt
        return WebhookOutcome(error=f"{type(exc).__name__}: {exc}")
    return WebhookOutcome(
        output={"status": result.status, "body": result.body, "truncated": result.truncated}
    )


async def record_call(
    session: AsyncSession, *, rt: Runtime, call: WebhookCall, outcome: WebhookOutcome
) -> WebhookCall | None:
    """Record a webhook call's outcome and go on with the execution; the next claimed call, if any.

    Idempotent: nothing happens unless the attempt is still the execution's open one.
    """
    execution = await repository.execution(session, call.execution_id, for_update=True)
    run = await repository.step_run(session, call.run_id)
    if (
        execution is None
        or run is None
        or run.status != "running"
        or execution.status != ExecutionStatus.running
        or execution.current_step != call.step_index
    ):
        log.info("workflow_webhook_outcome_stale", execution_id=str(call.execution_id), step=call.step_index)
        return None
    version = await repository.version(session, execution.workflow_id, execution.version)
    step = STEP.validate_python(version.steps[call.step_index]) if version else None
    if step is None:
        return None
    token = correlation_id_var.set(f"{WORKFLOW_CORRELATION_PREFIX}{execution.workflow_id}-{execution.id}")
    try:
        if outcome.error is not None:
            _failed(execution, step, run, outcome.error, retryable=outcome.retryable)
            return None
        run.status, run.output, run.finished_at = "succeeded", outcome.output, utcnow()
        _advance(execution, call.step_index, dict(outcome.output or {}))
    finally:
        correlation_id_var.reset(token)
        execution.updated_at = utcnow()
        await repository.flush(session)
    return await run_execution(session, rt=rt, execution=execution)


def _claim_call(
    rt: Runtime, execution: WorkflowExecution, step: Any, data: dict[str, Any], run: WorkflowStepRun
) -> WebhookCall:
    timeout = min(step.timeout_seconds, rt.settings.webhook_timeout_seconds)
    execution.status = ExecutionStatus.running.value
    execution.next_run_at = utcnow() + timedelta(seconds=timeout) + LEASE_MARGIN
    return WebhookCall(
        execution_id=execution.id,
        run_id=run.id,
        step_index=run.step_index,
        url=step.url,
        method=step.method,
        headers=dict(step.headers),
        body=step.body if step.body is not None else data,
        timeout_seconds=timeout,
    )


async def run_execution(
    session: AsyncSession, *, rt: Runtime, execution: WorkflowExecution, max_steps: int = 50
) -> WebhookCall | None:
    """Advance one (locked) execution as far as it can go now; the webhook call it stopped at to
    make (claimed, to be made once this transaction has committed), if any."""
    version = await repository.version(session, execution.workflow_id, execution.version)
    if version is None:  # cannot happen with the foreign key; be explicit anyway
        execution.status, execution.error_message = ExecutionStatus.failed.value, "definition version missing"
        return None
    token = correlation_id_var.set(f"{WORKFLOW_CORRELATION_PREFIX}{execution.workflow_id}-{execution.id}")
    try:
        for _ in range(max_steps):
            if execution.current_step >= execution.steps_total:
                _finish(execution, ExecutionStatus.completed)
                return None
            ran = await _run_step(session, rt, execution, version.steps[execution.current_step])
            if ran is not True:
                return ran or None
        execution.next_run_at = utcnow()  # more steps than one pass allows: continue on the next tick
        return None
    finally:
        correlation_id_var.reset(token)
        execution.updated_at = utcnow()
        await repository.flush(session)


def _finish(execution: WorkflowExecution, status: ExecutionStatus, error: str | None = None) -> None:
    execution.status = status.value
    execution.next_run_at = None
    execution.error_message = error
    execution.completed_at = utcnow()


async def _run_step(
    session: AsyncSession, rt: Runtime, execution: WorkflowExecution, raw: dict[str, Any]
) -> bool | WebhookCall:
    """Run the current step; True when the execution may go straight on to the next one, a
    claimed webhook call when it waits for that call."""
    index = execution.current_step
    step = STEP.validate_python(raw)
    data = dict(execution.trigger_data)
    if step.type == "call_webhook":
        lost = await repository.open_step_run(session, execution.id, index, status="running")
        if lost is not None:  # claimed by a worker that never recorded the outcome (lease over)
            log.warning(
                "workflow_webhook_lost", execution_id=str(execution.id), step=index, attempt=lost.attempt
            )
            _failed(execution, step, lost, LOST_CALL, retryable=True)
            return False
        run = WorkflowStepRun(
            execution_id=execution.id,
            step_index=index,
            step_type=step.type,
            attempt=execution.attempt + 1,
            status="running",
        )
        await repository.add(session, run)
        return _claim_call(rt, execution, step, data, run)
    if step.type == "wait_duration":
        waiting = await repository.open_step_run(session, execution.id, index, status="waiting")
        if waiting is None:
            resume = utcnow() + timedelta(seconds=step.seconds)
            await repository.add(
                session,
                WorkflowStepRun(
                    execution_id=execution.id,
                    step_index=index,
                    step_type=step.type,
                    attempt=1,
                    status="waiting",
                    output={"resume_at": resume.isoformat()},
                ),
            )
            execution.status = ExecutionStatus.waiting.value
            execution.next_run_at = resume
            return False
        waiting.status, waiting.finished_at = "succeeded", utcnow()
        return _advance(execution, index, {"waited_seconds": step.seconds})
    attempt = execution.attempt + 1
    run = WorkflowStepRun(
        execution_id=execution.id, step_index=index, step_type=step.type, attempt=attempt, status="running"
    )
    execution.status = ExecutionStatus.running.value
    try:
        async with session.begin_nested():
            output = await _perform(session, rt, step, data, execution, index)
    except (StepError, StepRefused, ValidationError, Exception) as exc:
        retryable = not isinstance(exc, (StepRefused, ValidationError))
        await repository.add(session, run)
        _failed(execution, step, run, f"{type(exc).__name__}: {exc}", retryable=retryable)
        return False
    if output.pop("_stop", False):
        run.status, run.output, run.finished_at = "succeeded", output, utcnow()
        await repository.add(session, run)
        execution.steps_completed += 1
        execution.results = {**execution.results, str(index): output}
        _finish(execution, ExecutionStatus.completed)
        return False
    if output.pop("_fail", False):
        run.status, run.output, run.error, run.finished_at = "failed", output, "conditions not met", utcnow()
        await repository.add(session, run)
        execution.attempt = attempt
        _finish(execution, ExecutionStatus.failed, f"step {index} (condition_check): conditions not met")
        return False
    run.status, run.output, run.finished_at = "succeeded", output, utcnow()
    await repository.add(session, run)
    return _advance(execution, index, output)


def _failed(
    execution: WorkflowExecution, step: Any, run: WorkflowStepRun, error: str, *, retryable: bool
) -> None:
    """Record a failed attempt; the execution retries after the step's backoff or fails."""
    run.status, run.error, run.finished_at = "failed", error[:2000], utcnow()
    log.warning(
        "workflow_step_failed",
        execution_id=str(execution.id),
        step=run.step_index,
        attempt=run.attempt,
        error=run.error,
    )
    execution.attempt = run.attempt
    if retryable and run.attempt < step.retry.max_attempts:
        execution.status = ExecutionStatus.retrying.value
        execution.error_message = run.error
        execution.next_run_at = utcnow() + timedelta(
            seconds=step.retry.backoff_seconds * 2 ** (run.attempt - 1)
        )
    else:
        _finish(execution, ExecutionStatus.failed, f"step {run.step_index} ({step.type}) failed: {run.error}")


def _advance(execution: WorkflowExecution, index: int, output: dict[str, Any]) -> bool:
    execution.results = {**execution.results, str(index): output}
    execution.current_step = index + 1
    execution.steps_completed += 1
    execution.attempt = 0
    execution.error_message = None
    execution.status = ExecutionStatus.running.value
    return True


async def _perform(
    session: AsyncSession,
    rt: Runtime,
    step: Any,
    data: dict[str, Any],
    execution: WorkflowExecution,
    index: int,
) -> dict[str, Any]:
    key = f"workflow:{execution.id}:{index}"
    if step.type == "send_email":
        return await _send_email(session, rt, step, data, uuid.uuid5(uuid.NAMESPACE_URL, key))
    if step.type == "create_task":
        return await _create_task(session, rt, step, data, key)
    if step.type == "update_record":
        return await _update_record(session, rt, step, data)
    if step.type == "condition_check":
        passed = conditions.all_hold([c.model_dump() for c in step.conditions], data)
        if passed:
            return {"passed": True}
        return {"passed": False, "_stop": step.on_false == "stop", "_fail": step.on_false == "fail"}
    raise StepRefused(f"unknown step type {step.type}")
