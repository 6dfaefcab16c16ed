"""Running one claimed job: a use case across carriers (adapter, account, engine), jobs (progress,
finish, failure) and results (rows and events). Each database step is its own short transaction;
nothing is held open while a portal answers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import structlog

from aintech_contracts.events.scraper import (
    CarrierPriceObserved,
    ObservedRisk,
    ParsedField,
    PolicyDocumentParsed,
    PortfolioPolicyListed,
    PortfolioSynced,
)
from aintech_shared.db import Database
from aintech_shared.events.outbox import Outbox
from aintech_shared.objectstore import ObjectStore
from scraper.carriers import portfolio
from scraper.carriers import service as carriers
from scraper.carriers.engines import BrowserEngine, Engine, HttpEngine, Page
from scraper.carriers.reading import Offer
from scraper.carriers.registry import adapter
from scraper.carriers.spec import AdapterSpec
from scraper.core.base import utcnow
from scraper.core.errors import ErrorClass, ScrapeError
from scraper.documents.pdf import ParsedPolicy, parse_policy
from scraper.proxies import service as proxies
from scraper.results import service as results
from scraper.results.models import Result
from scraper.scrape_jobs import service as jobs
from scraper.scrape_jobs.service import Capture, Claimed
from scraper.settings import Settings

log = structlog.get_logger("scraper.flows")

EngineFactory = Callable[[AdapterSpec, str, Settings, str | None], Engine]


class Cancelled(Exception):
    """The job was cancelled, or its lease passed to another worker: stop quietly."""


def build_engine(spec: AdapterSpec, base_url: str, settings: Settings, proxy: str | None) -> Engine:
    policy = carriers.host_policy(settings, spec)
    if spec.engine == "browser":
        return BrowserEngine(
            spec,
            base_url,
            policy,
            executable=settings.chromium_path,
            timeout=settings.page_timeout_seconds,
            proxy=proxy,
        )
    return HttpEngine(spec, base_url, policy, timeout=settings.page_timeout_seconds, proxy=proxy)


async def run_job(
    db: Database,
    settings: Settings,
    outbox: Outbox,
    job: Claimed,
    *,
    worker: str,
    objects: ObjectStore,
    engine_factory: EngineFactory = build_engine,
) -> str:
    """Run ``job`` to its outcome: ``succeeded``, ``retry``/``failed`` (classified, page kept),
    ``cancelled`` or ``lost``."""

    async def progress(percent: int, note: str) -> None:
        async with db.transaction() as session:
            mine = await jobs.report_progress(
                session,
                job_id=job.id,
                worker=worker,
                progress=percent,
                note=note,
                lease_seconds=settings.lease_seconds,
            )
        if not mine:
            raise Cancelled

    spec = adapter(job.carrier)
    engine: Engine | None = None
    lease: proxies.Lease | None = None
    try:
        if spec is None:
            raise ScrapeError(ErrorClass.internal, f"no adapter for carrier {job.carrier!r} any more")
        async with db.transaction() as session:
            account = await carriers.open_account(session, settings=settings, carrier=job.carrier)
            lease = await proxies.take(session, settings=settings)
        if account is None:
            raise ScrapeError(ErrorClass.login_refused, f"no portal account is set for {spec.name}")
        engine = engine_factory(spec, account.base_url, settings, lease.url if lease else None)
        await progress(10, "logging in")
        await engine.login(account.username, account.password)
        await progress(40, "logged in")
        if job.kind == "prices":
            offers = await engine.prices({"risk": job.params["risk"], "params": job.params})
            await progress(80, f"{len(offers)} offers read")
            return await _record_prices(db, outbox, spec, job, worker, offers)
        if job.kind == "policy_document":
            content = await engine.document({"params": job.params})
            await progress(70, f"document downloaded ({len(content)} bytes)")
            parsed = parse_policy(content, max_bytes=settings.pdf_max_bytes, max_pages=settings.pdf_max_pages)
            return await _record_document(db, outbox, spec, job, worker, parsed)
        if job.kind == "portfolio_sync":
            rows, pages = await portfolio.walk(engine, spec, progress)
            return await _record_portfolio(db, outbox, spec, job, worker, rows, pages)
        raise ScrapeError(ErrorClass.internal, f"{job.kind} jobs are not run by this worker")
    except Cancelled:
        log.info("scrape_job_stopped", job_id=str(job.id), reason="cancelled or lease lost")
        return "cancelled"
    except ScrapeError as error:
        if lease is not None and error.error_class in (ErrorClass.blocked, ErrorClass.rate_limited):
            async with db.transaction() as session:
                await proxies.cool_down(session, settings=settings, proxy_id=lease.id, reason=error.detail)
        return await _fail(db, settings, objects, job, worker, error, engine)
    except Exception as exc:  # a bug must not crash the worker nor leave the job running
        log.exception("scrape_job_crashed", job_id=str(job.id))
        crash = ScrapeError(ErrorClass.internal, f"{type(exc).__name__} while running the job")
        return await _fail(db, settings, objects, job, worker, crash, engine)
    finally:
        if engine is not None:
            await engine.close()


async def _fail(
    db: Database,
    settings: Settings,
    objects: ObjectStore,
    job: Claimed,
    worker: str,
    error: ScrapeError,
    engine: Engine | None,
) -> str:
    page = await engine.snapshot() if engine is not None else Page()
    capture = Capture(url=page.url, html=page.html, screenshot=page.screenshot) if page.url else None
    async with db.transaction() as session:
        failed = await jobs.fail_attempt(
            session, settings=settings, job_id=job.id, worker=worker, error=error, capture=capture
        )
    if failed is not None and capture is not None:
        try:
            await store_artifacts(db, objects, settings, job_id=job.id, attempt=job.attempt, capture=capture)
        except Exception:  # the job's outcome is recorded; an unstored artifact is swept later
            log.exception("scrape_artifacts_not_stored", job_id=str(job.id))
    log.warning(
        "scrape_attempt_failed",
        job_id=str(job.id),
        carrier=job.carrier,
        attempt=job.attempt,
        error_class=error.error_class.value,
        detail=error.detail[:300],
    )
    if failed is None:
        return "lost"
    return "retry" if failed.status == "queued" else "failed"


async def store_artifacts(
    db: Database, objects: ObjectStore, settings: Settings, *, job_id: Any, attempt: int, capture: Capture
) -> int:
    """Write a failed attempt's captures to the object store, then mark each row stored with its
    SHA-256. The rows were written first (with the failure), so a crash here leaves an unstored row
    — never shown, swept with its object by the retention job — and never an object no row names."""
    async with db.transaction() as session:
        pending = await jobs.unstored_artifacts(session, job_id=job_id, attempt=attempt)
    contents = {"html": capture.html, "screenshot": capture.screenshot}
    stored = 0
    for row in pending:
        content = (contents.get(row.kind) or b"")[: settings.artifact_max_bytes]
        obj = await objects.put(row.object_key, content, content_type=row.content_type)
        async with db.transaction() as session:
            stored += await jobs.mark_stored(session, artifact_id=row.id, stored=obj)
    return stored


async def _record_prices(
    db: Database, outbox: Outbox, spec: AdapterSpec, job: Claimed, worker: str, offers: list[Offer]
) -> str:
    """Store the offers, publish one ``carrier.price_observed`` each and finish the job, in one
    transaction (nothing is stored or published for a job whose lease was lost)."""
    now = utcnow()
    risk: dict[str, Any] = job.params["risk"]
    async with db.transaction() as session:
        done = await jobs.finish(session, job_id=job.id, worker=worker, note=f"{len(offers)} offers")
        if done is None:
            return "lost"
        for offer in offers:
            results.record(
                session,
                Result(
                    job_id=job.id,
                    carrier=job.carrier,
                    kind="price",
                    product=(offer.product or "")[:200] or None,
                    premium=offer.premium,
                    currency="EUR",
                    data={**offer.data, "risk": risk, "adapter_version": spec.version},
                    observed_at=now,
                ),
            )
            await outbox.publish(
                session,
                CarrierPriceObserved(
                    job_id=job.id,
                    carrier=job.carrier,
                    carrier_name=spec.name,
                    product=offer.product,
                    premium=offer.premium,
                    risk=ObservedRisk(**risk),
                    quote_id=job.params.get("quote_id"),
                    adapter_version=spec.version,
                    observed_at=now,
                ),
                key=job.carrier,
            )
    return "succeeded"


async def _record_document(
    db: Database, outbox: Outbox, spec: AdapterSpec, job: Claimed, worker: str, parsed: ParsedPolicy
) -> str:
    """Store the parsed document, publish ``policy.document_parsed`` and finish, in one transaction."""
    now = utcnow()
    number = str(job.params["policy_number"])
    async with db.transaction() as session:
        done = await jobs.finish(
            session, job_id=job.id, worker=worker, note=f"{len(parsed.fields)} fields read"
        )
        if done is None:
            return "lost"
        premium = parsed.fields.get("premium_total", {}).get("value")
        results.record(
            session,
            Result(
                job_id=job.id,
                carrier=job.carrier,
                kind="policy_document",
                product=number,
                premium=Decimal(premium) if premium else None,
                currency="EUR",
                data=parsed.as_data(),
                observed_at=now,
            ),
        )
        await outbox.publish(
            session,
            PolicyDocumentParsed(
                job_id=job.id,
                carrier=job.carrier,
                carrier_name=spec.name,
                policy_number=number,
                fields={name: ParsedField(**value) for name, value in parsed.fields.items()},
                unreadable=parsed.unreadable,
                pages=parsed.pages,
                parsed_at=now,
            ),
            key=job.carrier,
        )
    return "succeeded"


async def _record_portfolio(
    db: Database,
    outbox: Outbox,
    spec: AdapterSpec,
    job: Claimed,
    worker: str,
    rows: list[portfolio.PortfolioRow],
    pages: int,
) -> str:
    """Store every row (flagged ones too), publish one ``policy.portfolio_listed`` per row with a
    policy number, then ``portfolio.synced`` with every number listed, and finish — one transaction,
    so a sync that failed half-way publishes nothing (and reports nothing as missing)."""
    now = utcnow()
    seen: set[str] = set()
    for row in rows:
        if row.policy_number is not None and row.policy_number in seen:
            row.problems.append(f"policy_number: {row.policy_number} is listed twice")
            row.policy_number = None
        elif row.policy_number is not None:
            seen.add(row.policy_number)
    flagged = sum(1 for row in rows if row.flagged)
    unnumbered = sum(1 for row in rows if "policy_number" in row.unreadable)
    async with db.transaction() as session:
        done = await jobs.finish(
            session,
            job_id=job.id,
            worker=worker,
            note=f"{len(rows)} policies on {pages} pages, {flagged} flagged",
        )
        if done is None:
            return "lost"
        for row in rows:
            results.record(
                session,
                Result(
                    job_id=job.id,
                    carrier=job.carrier,
                    kind="portfolio_policy",
                    product=(row.product or "")[:200] or None,
                    premium=row.premium,
                    currency="EUR",
                    data={**row.as_data(), "adapter_version": spec.version},
                    observed_at=now,
                ),
            )
            if row.policy_number is None:
                continue
            await outbox.publish(
                session,
                PortfolioPolicyListed(
                    job_id=job.id,
                    carrier=job.carrier,
                    carrier_name=spec.name,
                    policy_number=row.policy_number,
                    fields={name: ParsedField(**value) for name, value in row.fields.items()},
                    unreadable=row.unreadable,
                    problems=row.problems,
                    page=row.page,
                    listed_at=now,
                ),
                key=job.carrier,
            )
        await outbox.publish(
            session,
            PortfolioSynced(
                job_id=job.id,
                carrier=job.carrier,
                carrier_name=spec.name,
                policy_numbers=sorted(seen),
                pages=pages,
                rows=len(rows),
                flagged=flagged,
                unnumbered=unnumbered,
                synced_at=now,
            ),
            key=job.carrier,
        )
    return "succeeded"
