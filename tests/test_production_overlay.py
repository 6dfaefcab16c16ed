"""The production overlay as rendered: hardened pods, autoscaling, disruption budgets, the network
edges of the design, the migration hook and an Ingress that keeps the host providers signed."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from aintech_contracts.fleet import FLEET

ROOT = Path(__file__).resolve().parents[1]


def _check_deploy() -> Any:
    spec = importlib.util.spec_from_file_location("check_deploy", ROOT / "scripts" / "check_deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_kustomize() -> bool:
    return any(
        (ROOT / ".local" / "tools" / "bin" / "kustomize").exists() or shutil.which(tool)
        for tool in ("kustomize", "kubectl", "go")
    )


pytestmark = pytest.mark.skipif(not _has_kustomize(), reason="no kustomize, kubectl or Go on this machine")


@pytest.fixture(scope="module")
def production() -> dict[tuple[str, str], dict[str, Any]]:
    text = _check_deploy().render(ROOT / "deploy" / "k8s" / "overlays" / "production")
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}


def test_every_pod_runs_hardened(production: dict[tuple[str, str], dict[str, Any]]) -> None:
    pods = [d for (kind, _), d in production.items() if kind in ("Deployment", "Job")]
    assert len(pods) == 2 * len(FLEET) + 1
    for doc in pods:
        spec = doc["spec"]["template"]["spec"]
        name = doc["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert container["resources"]["requests"]["memory"], name
            assert container["resources"]["limits"]["memory"], name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name  # noqa: S108
        if doc["kind"] == "Deployment":
            assert "replicas" not in doc["spec"], f"{name}: the HPA owns the replica count"
            assert spec["topologySpreadConstraints"], name


def test_every_deployment_autoscales_with_a_disruption_budget(
    production: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for spec in FLEET:
        api, worker = production[("Deployment", spec.slug)], production[("Deployment", f"{spec.slug}-worker")]
        container = api["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert (
            worker["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"]
            == "/healthz"
        )
        hpa = production[("HorizontalPodAutoscaler", spec.slug)]["spec"]
        assert hpa["scaleTargetRef"]["name"] == spec.slug and hpa["minReplicas"] >= 2
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        worker_hpa = production[("HorizontalPodAutoscaler", f"{spec.slug}-worker")]["spec"]
        assert worker_hpa["metrics"][0]["external"]["metric"]["name"] == "aintech_consumer_lag"
        for name, deployment in ((spec.slug, api), (f"{spec.slug}-worker", worker)):
            pdb = production[("PodDisruptionBudget", name)]["spec"]
            assert pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_only_the_gateway_takes_traffic_from_outside(
    production: dict[tuple[str, str], dict[str, Any]],
) -> None:
    policies = {name: d["spec"] for (kind, name), d in production.items() if kind == "NetworkPolicy"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    from_outside = {
        name
        for name, spec in policies.items()
        for rule in spec.get("ingress", [])
        for peer in rule.get("from", [])
        if "namespaceSelector" in peer
        and peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name")
        != "monitoring"
    }
    assert from_outside == {"gateway-ingress"}
    for spec in FLEET:
        if spec.route is None or spec.name == "authenticator":
            continue
        sources = policies[f"{spec.slug}-ingress"]["ingress"][0]["from"]
        assert sources == [
            {
                "podSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "gateway", "app.kubernetes.io/component": "api"}
                }
            }
        ], f"{spec.slug} is reached by the gateway only"
    internet = {
        name
        for name, spec in policies.items()
        for rule in spec.get("egress", [])
        for peer in rule["to"]
        if "ipBlock" in peer
    }
    assert internet == {
        "authenticator-egress",
        "omnichannel-egress",
        "telephony-egress",
        "scraper-egress",
        "analytics-egress",
    }


def test_migrations_run_before_rollout_and_webhook_hosts_are_preserved(
    production: dict[tuple[str, str], dict[str, Any]],
) -> None:
    job = production[("Job", "aintech-migrate")]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    ingress = production[("Ingress", "aintech")]
    annotations = ingress["metadata"]["annotations"]
    assert not any("upstream-vhost" in key for key in annotations), "the Host reaches the gateway as signed"
    assert ingress["spec"]["rules"][0]["host"] == ingress["spec"]["tls"][0]["hosts"][0]
    config = next(
        d
        for (kind, name), d in production.items()
        if kind == "ConfigMap" and name.startswith("aintech-config")
    )
    assert (
        config["data"]["TELEPHONY_PUBLIC_WEBHOOK_BASE_URL"]
        == f"https://{ingress['spec']['rules'][0]['host']}"
    )
    assert config["data"]["AINTECH_KAFKA_BOOTSTRAP"] == "aintech-kafka-bootstrap:9092"
    for kind, name in (("Kafka", "aintech"), ("Cluster", "aintech-pg"), ("Service", "clickhouse")):
        assert (kind, name) in production
    scraper = production[("Deployment", "scraper")]["spec"]["template"]["spec"]["containers"][0]
    assert scraper["image"].endswith("aintech/scraper:0.1.0"), "the scraper runs the image with Chromium"
