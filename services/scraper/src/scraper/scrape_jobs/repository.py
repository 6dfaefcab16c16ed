"""Every query on jobs, artifacts and carrier limits (the only module of the domain that speaks SQL).

Claiming is two locked steps in one transaction: the carrier's limits row (``FOR UPDATE SKIP
LOCKED``: one claimer per carrier at a time, so a carrier's concurrency and start interval hold
across every worker), then its most urgent due job (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert

from aintech_shared.db import RepositoryBase
from aintech_shared.pagination import newest_first
from scraper.scrape_jobs.models import Artifact, CarrierLimit, Job

ACTIVE = ("queued", "running")


class JobRepository(RepositoryBase[Job]):
    model = Job

    async def page(
        self,
        *,
        status: str | None,
        carrier: str | None,
        kind: str | None,
        after: list[Any] | None,
        limit: int,
    ) -> tuple[list[Job], list[Any] | None]:
        """One page of jobs, newest first, filtered by status, carrier and kind."""
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(Job.status == status)
        if carrier is not None:
            conditions.append(Job.carrier == carrier)
        if kind is not None:
            conditions.append(Job.kind == kind)
        return await newest_first(
            self.session, Job, at=Job.created_at, id_=Job.id, conditions=conditions, after=after, limit=limit
        )

    async def ensure_carrier(self, *, carrier: str, max_concurrent: int, min_interval_ms: int) -> None:
        """The carrier's limits row, created with the defaults the first time a job names it."""
        await self.session.execute(
            insert(CarrierLimit)
            .values(carrier=carrier, max_concurrent=max_concurrent, min_interval_ms=min_interval_ms)
            .on_conflict_do_nothing(index_elements=["carrier"])
        )

    async def lock_claimable_carrier(self, *, now: datetime, exclude: list[str]) -> CarrierLimit | None:
        """A carrier with a due job whose start interval has passed, locked (others skip it)."""
        due = select(Job.id).where(
            Job.carrier == CarrierLimit.carrier, Job.status == "queued", Job.next_attempt_at <= now
        )
        interval = func.make_interval(0, 0, 0, 0, 0, 0, CarrierLimit.min_interval_ms / 1000.0)
        query = (
            select(CarrierLimit)
            .where(
                due.exists(),
                or_(CarrierLimit.last_started_at.is_(None), CarrierLimit.last_started_at + interval <= now),
                CarrierLimit.carrier.not_in(exclude) if exclude else true(),
            )
            .order_by(CarrierLimit.last_started_at.asc().nulls_first())
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).first()

    async def running_on(self, *, carrier: str, now: datetime) -> int:
        """Jobs of ``carrier`` running under a live lease (a fresh snapshot: read after the row lock)."""
        query = select(func.count()).where(
            Job.carrier == carrier, Job.status == "running", Job.lease_expires_at > now
        )
        return int(await self.session.scalar(query) or 0)

    async def lock_next_due(self, *, carrier: str, now: datetime) -> Job | None:
        """The carrier's most urgent due job, locked (skipped by other claimers)."""
        query = (
            select(Job)
            .where(Job.carrier == carrier, Job.status == "queued", Job.next_attempt_at <= now)
            .order_by(Job.priority.desc(), Job.next_attempt_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).first()

    async def lock_owned(self, *, job_id: uuid.UUID, worker: str) -> Job | None:
        """The job, locked, if ``worker`` still holds its lease (else None: the lease was lost)."""
        query = (
            select(Job)
            .where(Job.id == job_id, Job.status == "running", Job.lease_owner == worker)
            .with_for_update()
        )
        return (await self.session.scalars(query)).first()

    async def lock_expired(self, *, now: datetime, limit: int = 100) -> list[Job]:
        """Running jobs whose lease ran out (their worker died or hung), locked."""
        query = (
            select(Job)
            .where(Job.status == "running", Job.lease_expires_at < now)
            .order_by(Job.lease_expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(query)).all())

    async def carrier_limit(self, carrier: str, *, for_update: bool = False) -> CarrierLimit | None:
        query = select(CarrierLimit).where(CarrierLimit.carrier == carrier)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def carrier_limits(self) -> list[CarrierLimit]:
        return list((await self.session.scalars(select(CarrierLimit).order_by(CarrierLimit.carrier))).all())

    async def active_for_schedule(self, *, schedule_id: uuid.UUID) -> bool:
        query = select(Job.id).where(Job.schedule_id == schedule_id, Job.status.in_(ACTIVE)).limit(1)
        return (await self.session.scalar(query)) is not None


class ArtifactRepository(RepositoryBase[Artifact]):
    model = Artifact

    async def of_job(self, *, job_id: uuid.UUID, now: datetime) -> list[Artifact]:
        """The job's stored artifacts still within their retention period."""
        query = (
            select(Artifact)
            .where(Artifact.job_id == job_id, Artifact.stored_at.is_not(None), Artifact.expires_at > now)
            .order_by(Artifact.attempt, Artifact.kind)
        )
        return list((await self.session.scalars(query)).all())

    async def one(self, *, job_id: uuid.UUID, artifact_id: uuid.UUID, now: datetime) -> Artifact | None:
        query = select(Artifact).where(
            and_(
                Artifact.job_id == job_id,
                Artifact.id == artifact_id,
                Artifact.stored_at.is_not(None),
                Artifact.expires_at > now,
            )
        )
        return (await self.session.scalars(query)).first()

    async def unstored(self, *, job_id: uuid.UUID, attempt: int) -> list[Artifact]:
        query = select(Artifact).where(
            Artifact.job_id == job_id, Artifact.attempt == attempt, Artifact.stored_at.is_(None)
        )
        return list((await self.session.scalars(query)).all())

    async def lock_purgeable(self, *, now: datetime, unstored_before: datetime, limit: int) -> list[Artifact]:
        """Expired artifacts, and rows whose object was never confirmed stored (their writer died)."""
        query = (
            select(Artifact)
            .where(
                or_(
                    Artifact.expires_at <= now,
                    and_(Artifact.stored_at.is_(None), Artifact.created_at <= unstored_before),
                )
            )
            .order_by(Artifact.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(query)).all())

    async def delete_rows(self, ids: list[uuid.UUID]) -> int:
        result = await self.session.execute(delete(Artifact).where(Artifact.id.in_(ids)))
        return int(getattr(result, "rowcount", 0) or 0)
