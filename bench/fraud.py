"""ai-fraud: score one claim in process, and a photo near-duplicate lookup among 100k hashes.

* **Score in process**: ``scoring.score_claim`` on the bench Postgres (read model, rules, ring,
  photos, the stored score and its ``fraud.scored`` outbox row), one transaction per score, for a
  claim without photos, with a small model promoted — the issue's "≤ 10 ms in process" — and the
  CPU-ms per score (this process and Postgres) beside the anchor's (one row by id over asyncpg).
* **Training** on 100 000 synthetic claims, the issue's "≤ 2 min on the 2-core machine".
* **Photo lookup**: the per-process index (``photos.hashing.HashIndex``, one vectorised Hamming
  pass) holding 100 000 pHashes, searched at the review radius (12 bits) — the issue's "p99 ≤ 20 ms
  among 100k hashes" — beside the BK-tree it replaced (a few lookups: each is a near-full walk).
  The hashes are random 64-bit values with planted near-duplicates; the array's cost does not
  depend on their spread.
"""

from __future__ import annotations

import gc
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from ai_fraud.app import create_app
from ai_fraud.core.features import MODEL_FEATURES
from ai_fraud.models_registry import repository as registry_repository
from ai_fraud.models_registry import service as registry
from ai_fraud.models_registry import synthetic, training
from ai_fraud.models_registry.models import ModelVersion
from ai_fraud.photos.hashing import BKTree, HashIndex
from ai_fraud.readmodel import service as readmodel
from ai_fraud.scoring import service as scoring
from ai_fraud.settings import Settings
from aintech_contracts.events.crm import ClaimCreated, CustomerCreated, PolicyCreated
from bench.common import Checks, CpuMeter, figure, heading, machine_load, percentiles, postmaster_pid

SCORE_P99_MS = 10.0
TRAIN_SECONDS = 120.0
LOOKUP_P99_MS = 20.0
RADIUS = 12


def _timed_lookups(index: HashIndex | BKTree, probes: list[int]) -> tuple[dict[str, float], int]:
    latencies, found = [], 0
    for probe in probes:
        t = time.perf_counter()
        found += len(index.search(probe, RADIUS))
        latencies.append(time.perf_counter() - t)
    return percentiles(latencies), found


def bench_photo_lookup(hashes: int = 100_000, lookups: int = 2000, tree_lookups: int = 40) -> Checks:
    heading(f"ai-fraud: photo near-duplicate lookup among {hashes:,} hashes (radius {RADIUS} bits)")
    rng = random.Random(17)
    values = [rng.getrandbits(64) for _ in range(hashes)]
    index, tree = HashIndex(), BKTree()
    t0 = time.perf_counter()
    for i, value in enumerate(values):
        index.add(value, i)
    figure("index build (HashIndex, the service's)", f"{time.perf_counter() - t0:.2f} s")
    for i, value in enumerate(values):
        tree.add(value, i)
    probes = []
    for i in range(lookups):
        if i % 2:  # half the probes are a stored photo with a few bits changed (a re-encoded copy)
            flipped = values[rng.randrange(hashes)]
            for bit in rng.sample(range(64), rng.randint(0, 8)):
                flipped ^= 1 << bit
            probes.append(flipped)
        else:
            probes.append(rng.getrandbits(64))
    p, found = _timed_lookups(index, probes)
    figure("HashIndex p50 / p99", f"{p['p50']:.2f} / {p['p99']:.2f} ms")
    figure("matches found", f"{found} (the {lookups // 2} planted copies included)")
    before, _ = _timed_lookups(tree, probes[:tree_lookups])
    figure(f"BK-tree p50 / p99 ({tree_lookups} lookups)", f"{before['p50']:.1f} / {before['p99']:.1f} ms")
    checks = Checks("fraud")
    checks.add(
        "photo lookup among 100k hashes, p99",
        f"{p['p99']:.2f} ms",
        f"<= {LOOKUP_P99_MS:g} ms",
        p["p99"] <= LOOKUP_P99_MS,
    )
    return checks


async def bench_score(checks: Checks, scores: int = 500) -> None:
    heading(f"ai-fraud: score one claim in process ({scores} scores, one transaction each)")
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        db, rt = app.state.db, app.state.runtime
        customer_id, policy_id, claim_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        now = datetime.now(UTC)
        async with db.transaction() as session:
            await readmodel.apply_customer(
                session,
                data=CustomerCreated(
                    customer_id=customer_id,
                    customer_type="individual",
                    first_name="Bench",
                    last_name="Mark",
                    status="active",
                    email=f"bench-{customer_id.hex[:8]}@example.com",
                ),
                at=now - timedelta(days=400),
            )
            await readmodel.apply_policy(
                session,
                data=PolicyCreated(
                    policy_id=policy_id,
                    policy_number=f"POL-B-{policy_id.hex[:6]}",
                    policy_type="home",
                    carrier="Mapfre",
                    customer_id=customer_id,
                    status="active",
                    coverage_start_date=date.today() - timedelta(days=200),
                    coverage_end_date=date.today() + timedelta(days=165),
                    premium_amount=Decimal("300.00"),
                    premium_frequency="annual",
                    coverage_amount=Decimal("20000.00"),
                ),
            )
            await readmodel.apply_claim(
                session,
                data=ClaimCreated(
                    claim_id=claim_id,
                    claim_number=f"CLM-B-{claim_id.hex[:6]}",
                    claim_type="water_damage",
                    status="reported",
                    customer_id=customer_id,
                    policy_id=policy_id,
                    policy_number="POL-B",
                    incident_date=now - timedelta(days=2),
                    description="Fuga",
                    claimed_amount=Decimal("1200.00"),
                    attributes={"police_report": True, "witnesses": 1},
                ),
                at=now,
            )
        await _promote_small_model(db, rt)
        for _ in range(30):
            async with db.transaction() as session:
                await scoring.score_claim(session, rt=rt, claim_id=claim_id, trigger="bench")
        # As the service does before serving (aintech_shared.serve): what exists now, including the
        # earlier sections' 100k hashes in this process, is moved out of the cyclic collector's
        # reach, so a full collection does not walk it in the middle of a timed score.
        gc.collect()
        gc.freeze()
        tree = postmaster_pid()
        meter = CpuMeter({}, {"postgres": tree} if tree else {})
        latencies = []
        cpu0, pg0 = time.process_time(), meter.read()
        for _ in range(scores):
            t = time.perf_counter()
            async with db.transaction() as session:
                await scoring.score_claim(session, rt=rt, claim_id=claim_id, trigger="bench")
            latencies.append(time.perf_counter() - t)
        cpu = (time.process_time() - cpu0) * 1000 / scores
        pg = CpuMeter.per_request(pg0, meter.read(), scores).get("postgres", float("nan"))
        anchor_cpu, anchor_pg = await _anchor(db, meter, claim_id, scores)
        gc.unfreeze()
    p = percentiles(latencies)
    figure("p50 / p99", f"{p['p50']:.2f} / {p['p99']:.2f} ms (model v1 active, {machine_load()})")
    figure("CPU-ms per score: this process / Postgres", f"{cpu:.2f} / {pg:.2f}")
    figure("anchor (asyncpg, one row by id): process / Postgres", f"{anchor_cpu:.2f} / {anchor_pg:.2f}")
    checks.add(
        "score one claim (no photos), p99 in process",
        f"{p['p99']:.2f} ms",
        f"<= {SCORE_P99_MS:g} ms",
        p["p99"] <= SCORE_P99_MS,
    )


async def _promote_small_model(db: Any, rt: Any) -> None:
    """A model trained on 3 000 synthetic claims, promoted: the score includes the model's part."""
    x, y = synthetic.generate(3000, seed=5)
    trained = training.train(x, y, seed=5)
    async with db.transaction() as session:
        version = await registry_repository.next_version(session)
        session.add(
            ModelVersion(
                version=version,
                status="candidate",
                algorithm=training.ALGORITHM,
                source="synthetic",
                rows=trained.rows,
                data_digest=trained.data_digest,
                feature_digest=trained.feature_digest,
                features=list(MODEL_FEATURES),
                artifact=trained.artifact,
                artifact_digest=trained.artifact_digest,
                metrics=trained.metrics,
                threshold=trained.threshold,
            )
        )
        await session.flush()
        await registry.promote(session, rt=rt, version=version, actor=None)


async def _anchor(db: Any, meter: CpuMeter, claim_id: uuid.UUID, reads: int) -> tuple[float, float]:
    """CPU-ms of the bench's anchor in this process: one row by primary key over asyncpg."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(url)
    try:
        for _ in range(30):
            await conn.fetchrow("SELECT * FROM fraud.claims WHERE id = $1", claim_id)
        cpu0, pg0 = time.process_time(), meter.read()
        for _ in range(reads):
            await conn.fetchrow("SELECT * FROM fraud.claims WHERE id = $1", claim_id)
        cpu = (time.process_time() - cpu0) * 1000 / reads
        pg = CpuMeter.per_request(pg0, meter.read(), reads).get("postgres", float("nan"))
    finally:
        await conn.close()
    return cpu, pg


def bench_training(checks: Checks, rows: int = 100_000) -> None:
    heading(f"ai-fraud: train on {rows:,} SYNTHETIC claims (both learners, calibration, held-out metrics)")
    x, y = synthetic.generate(rows, seed=7)
    t = time.perf_counter()
    cpu0 = time.process_time()
    trained = training.train(x, y, seed=7)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu0
    figure("wall / CPU", f"{seconds:.1f} s / {cpu:.1f} s ({machine_load()})")
    m = trained.metrics
    figure("held-out ROC-AUC / PR-AUC (synthetic)", f"{m['roc_auc']:.3f} / {m['pr_auc']:.3f}")
    checks.add(
        f"train on {rows // 1000}k synthetic claims",
        f"{seconds:.1f} s",
        f"<= {TRAIN_SECONDS:g} s",
        seconds <= TRAIN_SECONDS,
    )


async def bench_fraud() -> list[str]:
    checks = bench_photo_lookup()
    await bench_score(checks)
    bench_training(checks)
    return checks.report()
