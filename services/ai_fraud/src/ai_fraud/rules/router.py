"""Rules as data: list, create, edit, enable/disable, history; the feature catalogue."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ai_fraud.core.access import Manager, Reviewer, actor_id
from ai_fraud.core.features import FEATURES
from ai_fraud.rules import service
from ai_fraud.rules.schemas import FeatureOut, RuleCreate, RuleOut, RuleUpdate, RuleVersionOut
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses

router = APIRouter(tags=["rules"])


@router.get("/features", summary="The claim features rules may test", response_model=list[FeatureOut])
async def features(_: Reviewer) -> list[FeatureOut]:
    return [
        FeatureOut(name=f.name, type=f.type, es=f.es, en=f.en, in_model=f.model) for f in FEATURES.values()
    ]


@router.get("/rules", summary="Every rule", response_model=list[RuleOut])
async def list_rules(session: ReadSession, _: Reviewer) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in await service.list_rules(session)]


@router.post(
    "/rules",
    status_code=201,
    summary="Create a rule (effective on the next score)",
    response_model=RuleOut,
    responses=responses((409, "A rule with this code exists"), (422, "Invalid condition, with the reason")),
)
async def create_rule(body: RuleCreate, session: DbSession, who: Manager) -> RuleOut:
    rule = await service.create_rule(session, body=body, actor=actor_id(who))
    return RuleOut.model_validate(rule)


@router.get(
    "/rules/{rule_id}", summary="One rule", response_model=RuleOut, responses=responses((404, "Unknown rule"))
)
async def get_rule(rule_id: uuid.UUID, session: ReadSession, _: Reviewer) -> RuleOut:
    return RuleOut.model_validate(await service.get_rule(session, rule_id=rule_id))


@router.patch(
    "/rules/{rule_id}",
    summary="Edit a rule (a new version, effective on the next score)",
    response_model=RuleOut,
    responses=responses((404, "Unknown rule"), (409, "Stale expected_version"), (422, "Invalid condition")),
)
async def update_rule(rule_id: uuid.UUID, body: RuleUpdate, session: DbSession, who: Manager) -> RuleOut:
    rule = await service.update_rule(session, rule_id=rule_id, body=body, actor=actor_id(who))
    return RuleOut.model_validate(rule)


@router.post(
    "/rules/{rule_id}/enable",
    summary="Enable a rule",
    response_model=RuleOut,
    responses=responses((404, "Unknown rule")),
)
async def enable_rule(rule_id: uuid.UUID, session: DbSession, who: Manager) -> RuleOut:
    rule = await service.set_enabled(session, rule_id=rule_id, enabled=True, actor=actor_id(who))
    return RuleOut.model_validate(rule)


@router.post(
    "/rules/{rule_id}/disable",
    summary="Disable a rule",
    response_model=RuleOut,
    responses=responses((404, "Unknown rule")),
)
async def disable_rule(rule_id: uuid.UUID, session: DbSession, who: Manager) -> RuleOut:
    rule = await service.set_enabled(session, rule_id=rule_id, enabled=False, actor=actor_id(who))
    return RuleOut.model_validate(rule)


@router.get(
    "/rules/{rule_id}/versions",
    summary="A rule's versions, newest first",
    response_model=list[RuleVersionOut],
    responses=responses((404, "Unknown rule")),
)
async def rule_versions(rule_id: uuid.UUID, session: ReadSession, _: Reviewer) -> list[RuleVersionOut]:
    return [RuleVersionOut.model_validate(v) for v in await service.versions(session, rule_id=rule_id)]
