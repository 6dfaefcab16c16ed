"""Churn: train (store history, or the synthetic one when the store has too few matured
renewals), keep the artifact and its record on disk, score customers, publish the scores.

The artifact is a skops file beside a JSON record (digests, metrics, data source); loading checks
the artifact's SHA-256 against the record. The API process owns the store, so it trains and scores
(decision 0021).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.analytics import ChurnFactor, ChurnScored
from aintech_shared.events.outbox import Outbox
from analytics.churn import model, synthetic
from analytics.churn.features import MODEL_FEATURES, customer_features, matured_renewals
from analytics.settings import Settings
from analytics.store.port import Row, Store

log = structlog.get_logger("analytics.churn")

RENEWAL_HORIZON_DAYS = 90
SYNTHETIC_CAVEAT = (
    "Trained on a documented synthetic renewal history (the store holds too few matured renewals): "
    "the held-out ROC-AUC proves the pipeline, not real-world accuracy."
)
STORE_CAVEAT = "Held-out metrics on the store's matured renewals; past behaviour may not hold."


@dataclass
class LoadedModel:
    predictor: model.Predictor
    record: dict[str, Any]


_CACHE: dict[str, LoadedModel] = {}
_TRAIN_LOCK = asyncio.Lock()


def _paths(settings: Settings) -> tuple[Path, Path]:
    root = Path(settings.churn_model_dir)
    return root / "model.skops", root / "model.json"


async def training_set(store: Store, *, today: date, minimum: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Labelled rows from the store's matured renewals (features as of 90 days before each term
    ended), or the synthetic history when there are fewer than ``minimum``."""
    matured = await matured_renewals(store, as_of=today)
    if len(matured) >= minimum:
        by_day: dict[date, dict[str, int]] = defaultdict(dict)
        for row in matured:
            as_of = date.fromisoformat(row["term_end"]) - timedelta(days=RENEWAL_HORIZON_DAYS)
            by_day[as_of][row["customer_id"]] = int(row["renewed"])
        xs, ys = [], []
        for as_of, labels in sorted(by_day.items()):
            for f in await customer_features(store, as_of=as_of, customer_ids=sorted(labels)):
                xs.append([float(f[name]) for name in MODEL_FEATURES])
                ys.append(1 - labels[f["customer_id"]])
        if len(ys) >= minimum:
            return np.asarray(xs, dtype=float), np.asarray(ys, dtype=np.int64), "store"
    x, y = synthetic.generate()
    return x, y, "synthetic"


async def train(store: Store, settings: Settings, *, today: date | None = None) -> dict[str, Any]:
    """Train, save the artifact and its record, and return the record."""
    today = today or datetime.now(UTC).date()
    async with _TRAIN_LOCK:
        x, y, source = await training_set(store, today=today, minimum=settings.churn_min_matured)
        trained = await asyncio.to_thread(model.train, x, y)
        record = {
            "algorithm": model.ALGORITHM,
            "artifact_digest": trained.artifact_digest,
            "data_digest": trained.data_digest,
            "feature_digest": trained.feature_digest,
            "features": list(MODEL_FEATURES),
            "training_source": source,
            "training_rows": trained.rows,
            "metrics": trained.metrics,
            "caveat": SYNTHETIC_CAVEAT if source == "synthetic" else STORE_CAVEAT,
            "trained_at": datetime.now(UTC).isoformat(),
        }
        artifact_path, record_path = _paths(settings)
        artifact_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = artifact_path.with_suffix(".tmp")
        tmp.write_bytes(trained.artifact)
        tmp.replace(artifact_path)
        record_path.write_text(json.dumps(record, indent=2))
        _CACHE.pop(str(artifact_path), None)
        log.info("churn_model_trained", source=source, roc_auc=trained.metrics["roc_auc"])
        return record


async def active_model(store: Store, settings: Settings) -> LoadedModel:
    """The saved model (checked against its record); trained first when there is none."""
    artifact_path, record_path = _paths(settings)
    if not record_path.exists() or not artifact_path.exists():
        await train(store, settings)
    record = json.loads(record_path.read_text())
    cached = _CACHE.get(str(artifact_path))
    if cached is not None and cached.record["artifact_digest"] == record["artifact_digest"]:
        return cached
    predictor = model.load(artifact_path.read_bytes(), expected_digest=record["artifact_digest"])
    loaded = LoadedModel(predictor=predictor, record=record)
    _CACHE[str(artifact_path)] = loaded
    return loaded


def _score_rows(loaded: LoadedModel, rows: list[Row], today: date) -> list[dict[str, Any]]:
    if not rows:
        return []
    x = np.asarray([[float(r[name]) for name in MODEL_FEATURES] for r in rows], dtype=float)
    out = []
    for row, (p, factors) in zip(rows, loaded.predictor.explain(x), strict=True):
        risk = model.band(p)
        renewal = date.fromisoformat(row["next_renewal"]) if row.get("next_renewal") else None
        out.append(
            {
                "customer_id": row["customer_id"],
                "probability": round(p, 4),
                "band": risk,
                "factors": factors,
                "action": model.action(risk, factors),
                "features": {name: round(float(row[name]), 4) for name in MODEL_FEATURES},
                "next_renewal": renewal,
                "renewal_policy_id": row.get("renewal_policy") or None,
                "days_to_renewal": (renewal - today).days if renewal else None,
            }
        )
    return out


async def predict(
    store: Store, settings: Settings, *, customer_ids: list[str] | None, today: date | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Scores of ``customer_ids``, or of every customer whose next renewal falls in the next 90 days;
    highest risk first. Returns the scores and the model's record."""
    today = today or datetime.now(UTC).date()
    loaded = await active_model(store, settings)
    rows = await customer_features(store, as_of=today, customer_ids=customer_ids)
    if customer_ids is None:
        horizon = today + timedelta(days=RENEWAL_HORIZON_DAYS)
        rows = [r for r in rows if r.get("next_renewal") and date.fromisoformat(r["next_renewal"]) <= horizon]
    scores = await asyncio.to_thread(_score_rows, loaded, rows, today)
    scores.sort(key=lambda s: -s["probability"])
    return scores, loaded.record


async def publish(
    session: AsyncSession, outbox: Outbox, scores: list[dict[str, Any]], record: dict[str, Any]
) -> int:
    """One ``customer.churn_scored`` per score (customer ids that are not UUIDs are skipped)."""
    now = datetime.now(UTC)
    sent = 0
    for s in scores:
        try:
            customer_id = uuid.UUID(s["customer_id"])
        except ValueError:
            continue
        policy = s["renewal_policy_id"]
        action = s["action"] or {}
        await outbox.publish(
            session,
            ChurnScored(
                customer_id=customer_id,
                probability=s["probability"],
                band=s["band"],
                factors=[ChurnFactor(**f) for f in s["factors"]],
                action_es=action.get("es"),
                action_en=action.get("en"),
                next_renewal=s["next_renewal"],
                renewal_policy_id=uuid.UUID(policy) if policy else None,
                days_to_renewal=s["days_to_renewal"],
                model_digest=record["artifact_digest"],
                synthetic_training=record["training_source"] == "synthetic",
                scored_at=now,
            ),
            key=str(customer_id),
        )
        sent += 1
    return sent
