"""Train the churn model and print its held-out ROC-AUC:
``uv run python -m analytics.churn.train`` (opens the store: with chDB, stop the API first).
"""

from __future__ import annotations

import asyncio
import json

from analytics.churn import service
from analytics.settings import Settings
from analytics.store.port import open_store
from analytics.store.schema import create_schema


async def _run() -> dict:
    settings = Settings()
    store = open_store(
        clickhouse_url=settings.clickhouse_url, chdb_path=settings.chdb_path, database=settings.store_database
    )
    try:
        await create_schema(store)
        return await service.train(store, settings)
    finally:
        await store.close()


def main() -> None:
    record = asyncio.run(_run())
    m = record["metrics"]
    print(f"trained on {record['training_rows']} {record['training_source']} renewals")
    print(
        f"held-out ROC-AUC {m['roc_auc']} "
        f"(best single feature {m['baseline']['feature']}: {m['baseline']['roc_auc']})"
    )
    print(record["caveat"])
    print(m["anchor"])
    print(json.dumps({"artifact_digest": record["artifact_digest"]}))


if __name__ == "__main__":
    main()
