"""Rules as data: create, edit, enable/disable (each a new version), and evaluate on a claim."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.base import utcnow
from ai_fraud.core.features import FeatureVector
from ai_fraud.rules import repository
from ai_fraud.rules.conditions import ConditionError, Node, evaluate, parse
from ai_fraud.rules.models import Rule, RuleVersion
from ai_fraud.rules.schemas import RuleCreate, RuleUpdate
from aintech_shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class Firing:
    code: str
    name_es: str
    name_en: str
    weight: int
    version: int


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "name_es": rule.name_es,
        "name_en": rule.name_en,
        "condition": rule.condition,
        "weight": rule.weight,
        "enabled": rule.enabled,
        "version": rule.version,
    }


def _record(session: AsyncSession, rule: Rule, change: str, actor: uuid.UUID | None) -> None:
    session.add(
        RuleVersion(
            rule_id=rule.id, version=rule.version, change=change, snapshot=_snapshot(rule), changed_by=actor
        )
    )


async def list_rules(session: AsyncSession) -> Sequence[Rule]:
    """Every rule, enabled or not, by code."""
    return await repository.list_rules(session)


async def get_rule(session: AsyncSession, *, rule_id: uuid.UUID) -> Rule:
    """One rule; 404 when unknown."""
    rule = await repository.get(session, rule_id)
    if rule is None:
        raise NotFound(f"Rule {rule_id} does not exist.")
    return rule


async def create_rule(session: AsyncSession, *, body: RuleCreate, actor: uuid.UUID | None) -> Rule:
    """A new rule at version 1 (409 when its code is taken)."""
    if await repository.code_taken(session, body.code):
        raise Conflict(f"A rule with code {body.code!r} already exists.")
    rule = Rule(
        code=body.code,
        name_es=body.name_es,
        name_en=body.name_en,
        condition=body.condition,
        weight=body.weight,
        enabled=body.enabled,
        version=1,
        updated_by=actor,
    )
    session.add(rule)
    await session.flush()
    _record(session, rule, "created", actor)
    return rule


async def update_rule(
    session: AsyncSession, *, rule_id: uuid.UUID, body: RuleUpdate, actor: uuid.UUID | None
) -> Rule:
    """Edit a rule: a new version, effective on the next score."""
    rule = await repository.get(session, rule_id, lock=True)
    if rule is None:
        raise NotFound(f"Rule {rule_id} does not exist.")
    if body.expected_version is not None and body.expected_version != rule.version:
        raise Conflict(f"The rule is at version {rule.version}, not {body.expected_version}.")
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"}, exclude_none=True)
    if not changes:
        return rule
    for name, value in changes.items():
        setattr(rule, name, value)
    return await _bump(session, rule, "updated", actor)


async def set_enabled(
    session: AsyncSession, *, rule_id: uuid.UUID, enabled: bool, actor: uuid.UUID | None
) -> Rule:
    """Enable or disable a rule (a no-op when already so)."""
    rule = await repository.get(session, rule_id, lock=True)
    if rule is None:
        raise NotFound(f"Rule {rule_id} does not exist.")
    if rule.enabled == enabled:
        return rule
    rule.enabled = enabled
    return await _bump(session, rule, "enabled" if enabled else "disabled", actor)


async def _bump(session: AsyncSession, rule: Rule, change: str, actor: uuid.UUID | None) -> Rule:
    rule.version += 1
    rule.updated_at = utcnow()
    rule.updated_by = actor
    await session.flush()
    _record(session, rule, change, actor)
    return rule


async def versions(session: AsyncSession, *, rule_id: uuid.UUID) -> Sequence[RuleVersion]:
    """A rule's history, newest first."""
    await get_rule(session, rule_id=rule_id)
    return await repository.versions(session, rule_id)


# Parsed conditions by their JSON text: the rules are read on every score (a change applies at
# once), their parse is not redone. Bounded: cleared when a long-lived process has seen many.
_PARSED: dict[str, Node | None] = {}
_PARSED_MAX = 1024


def _parsed(condition: Any) -> Node | None:
    key = json.dumps(condition, sort_keys=True, separators=(",", ":"))
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        try:
            _PARSED[key] = parse(condition)
        except ConditionError:
            _PARSED[key] = None
    return _PARSED[key]


async def fire(session: AsyncSession, *, features: FeatureVector) -> list[Firing]:
    """The enabled rules (as they are in the database now) whose condition the claim satisfies."""
    fired = []
    for rule in await repository.enabled_rules(session):
        node = _parsed(rule.condition)
        if node is None:  # stored before a catalogue change: skipped, never crashes a score
            continue
        if evaluate(node, features):
            fired.append(Firing(rule.code, rule.name_es, rule.name_en, rule.weight, rule.version))
    return fired


@dataclass(frozen=True)
class _Enabled:
    """The enabled rules at one generation of the table, conditions parsed."""

    generation: int
    rules: tuple[tuple[Firing, Node], ...]


async def fire_at(
    session: AsyncSession, *, features: FeatureVector, generation: int | None, caches: dict[str, Any]
) -> list[Firing]:
    """``fire`` with the enabled rules kept in ``caches`` while the rules' generation (read by the
    caller in its own statement, see migration 0005) is the one they were read at: a rule change
    committed anywhere gives a new generation, so the next score reads the rules again."""
    cached = caches.get("rules")
    if generation is None:
        return await fire(session, features=features)
    if not isinstance(cached, _Enabled) or cached.generation != generation:
        rules = []
        for rule in await repository.enabled_rules(session):
            node = _parsed(rule.condition)
            if node is not None:  # stored before a catalogue change: skipped, never crashes a score
                rules.append((Firing(rule.code, rule.name_es, rule.name_en, rule.weight, rule.version), node))
        cached = caches["rules"] = _Enabled(generation, tuple(rules))
    return [firing for firing, node in cached.rules if evaluate(node, features)]
