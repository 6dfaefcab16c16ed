"""Alerts and dashboards as code: fresh, valid PromQL, and only metrics the code really exports."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from aintech_contracts.fleet import FLEET

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "k8s" / "monitoring"
DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"", re.S)
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_count", "_sum", "_created"),
    "Summary": ("", "_count", "_sum", "_created"),
}


def render_ops() -> Any:
    spec = importlib.util.spec_from_file_location("render_ops", ROOT / "scripts" / "render_ops.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exported_metrics() -> set[str]:
    """Every series name the fleet's code can expose, from its metric definitions (a static scan
    of libs/ and services/, so a service's own metrics count without booting it)."""
    names: set[str] = set()
    for path in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        for kind, name in DEFINITION.findall(path.read_text()):
            base = name.removesuffix("_total") if kind == "Counter" else name
            names.update(base + suffix for suffix in SUFFIXES[kind])
    return names


def metric_names(expr: str) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if type(node).__name__ == "VectorSelector":
            found.add(node.name)
            return
        for attr in ("lhs", "rhs", "expr", "args", "param", "vector_selector"):
            child = getattr(node, attr, None)
            for item in child if isinstance(child, list) else [child]:
                if item is not None:
                    walk(item)

    walk(promql_parser.parse(expr))
    return found


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((MONITORING / "prometheus-rules.yaml").read_text())
    assert doc["kind"] == "PrometheusRule"
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def dashboard_exprs() -> dict[str, list[str]]:
    out = {}
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        out[path.stem] = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    return out


def test_committed_monitoring_matches_the_fleet_registry() -> None:
    for path, text in render_ops().rendered().items():
        assert path.is_file() and path.read_text() == text, (
            f"{path.relative_to(ROOT)} is stale: run scripts/render_ops.py"
        )


def test_the_metric_scan_sees_what_a_booted_process_exports() -> None:
    """The static scan agrees with a live registry for the chassis' metrics (so it is not blind)."""
    from prometheus_client import REGISTRY

    import aintech_shared.events.consumer
    import aintech_shared.health
    import aintech_shared.metrics
    import aintech_shared.observability  # noqa: F401

    first = {"counter": "_total", "gauge": "", "histogram": "_bucket", "summary": "_count"}
    live = {
        family.name + first[family.type]
        for family in REGISTRY.collect()
        if family.type in first and not family.name.startswith(("process_", "python_", "gc_"))
    }
    scanned = exported_metrics()
    assert {"http_requests_total", "consumer_lag_messages", "worker_loop_seconds_since_progress"} <= live
    assert live <= scanned, f"registered but not seen by the scan: {sorted(live - scanned)}"


def test_every_alert_and_panel_names_only_exported_metrics() -> None:
    exported = exported_metrics()
    exprs = [(r["alert"], r["expr"]) for r in rules()]
    exprs += [(board, e) for board, many in dashboard_exprs().items() for e in many]
    assert exprs
    for where, expr in exprs:
        names = metric_names(expr)
        assert names, f"{where}: names no metric"
        unknown = names - exported
        assert not unknown, f"{where}: {sorted(unknown)} is exported by no code"


def test_a_metric_the_code_does_not_export_is_caught() -> None:
    assert metric_names("rate(http_requests_totl[5m]) > 1") - exported_metrics() == {"http_requests_totl"}


def test_rules_cover_every_service_and_each_operational_question() -> None:
    alerts = {r["alert"]: r for r in rules()}
    for rule in alerts.values():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["runbook_url"].startswith("docs/runbooks/")
    exprs = "\n".join(r["expr"] for r in alerts.values())
    boards = dashboard_exprs()
    for spec in FLEET:
        assert f'service="{spec.slug}"' in exprs, f"{spec.slug} has no alert"
        assert any(f'service="{spec.slug}"' in e for e in boards["services"]), f"{spec.slug} has no panel"
    for metric in (
        "consumer_lag_messages",
        "outbox_oldest_unsent_age_seconds",
        "events_dead_lettered_total",
        "worker_loop_seconds_since_progress",
        "http_request_duration_seconds_bucket",
    ):
        assert metric in exprs, f"no alert watches {metric}"
    assert set(boards) == {"edge", "services", "events", "business"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (CI installs it)")
def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    doc = yaml.safe_load((MONITORING / "prometheus-rules.yaml").read_text())
    plain = tmp_path / "rules.yaml"
    plain.write_text(yaml.safe_dump(doc["spec"]))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(plain)], capture_output=True, text=True, check=False, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


RUNBOOKS = (
    "deploy-and-roll-back",
    "rotate-jwt-signing-keys",
    "rotate-provider-secrets",
    "replay-a-dead-letter-topic",
    "rebuild-analytics-from-kafka",
    "restore-postgres-to-a-point-in-time",
    "scale-for-a-renewal-campaign",
    "respond-to-a-fraud-alert-storm",
)


def test_every_alert_links_a_runbook_that_exists() -> None:
    index = (ROOT / "docs" / "runbooks" / "README.md").read_text()
    for name in RUNBOOKS:
        assert (ROOT / "docs" / "runbooks" / f"{name}.md").is_file(), name
        assert f"({name}.md)" in index, f"{name} is not in the runbook index"
    for rule in rules():
        linked = rule["annotations"]["runbook_url"]
        assert (ROOT / linked).is_file(), f"{rule['alert']}: {linked} does not exist"
