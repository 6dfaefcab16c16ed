"""Every query on rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.rules.models import Rule, RuleVersion


async def list_rules(session: AsyncSession) -> Sequence[Rule]:
    return (await session.scalars(select(Rule).order_by(Rule.code))).all()


async def enabled_rules(session: AsyncSession) -> Sequence[Rule]:
    return (await session.scalars(select(Rule).where(Rule.enabled).order_by(Rule.code))).all()


async def get(session: AsyncSession, rule_id: uuid.UUID, *, lock: bool = False) -> Rule | None:
    query = select(Rule).where(Rule.id == rule_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def code_taken(session: AsyncSession, code: str) -> bool:
    return (await session.scalar(select(Rule.id).where(Rule.code == code))) is not None


async def versions(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[RuleVersion]:
    query = select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version.desc())
    return (await session.scalars(query)).all()
