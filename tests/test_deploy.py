"""Static validation of what users deploy with: docker-compose.yml, the Dockerfile, Kustomize."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aintech_contracts.fleet import FLEET

ROOT = Path(__file__).resolve().parents[1]
AUTH_PORT = next(s.port for s in FLEET if s.name == "authenticator")


def _render_module() -> Any:
    spec = importlib.util.spec_from_file_location("render_deploy", ROOT / "scripts" / "render_deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_deploy_files_match_the_fleet_registry() -> None:
    for path, text in _render_module().rendered().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run scripts/render_deploy.py"


def test_compose_runs_every_api_and_worker_after_migrations() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
    }
    for spec in FLEET:
        api, worker = services[spec.slug], services[f"{spec.slug}-worker"]
        assert api["command"] == ["python", "-m", spec.name]
        assert worker["command"] == ["python", "-m", f"{spec.name}.worker"]
        for svc in (api, worker):
            assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert svc["environment"]["AINTECH_KAFKA_BOOTSTRAP"] == "kafka:9092"
            assert svc["environment"][f"{spec.env_prefix}HOST"] == "0.0.0.0"
    assert services["gateway"]["ports"] == ["8000:8000"]
    published = [s for s, body in services.items() if "ports" in body and s not in ("postgres",)]
    assert published == ["gateway"], "only the gateway is public"


def test_dockerfile_builds_locked_non_root_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "USER 10001" in dockerfile
    assert "COPY deploy/local deploy/local" in dockerfile  # the migrate command lives there
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".local" in ignored and ".venv" in ignored


def test_kustomize_base_and_overlays_are_consistent() -> None:
    base = ROOT / "deploy" / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (base / resource).is_file(), resource
    for spec in FLEET:
        docs = list(yaml.safe_load_all((base / f"{spec.slug}.yaml").read_text()))
        kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
        assert kinds == [
            ("Deployment", spec.slug),
            ("Deployment", f"{spec.slug}-worker"),
            ("Service", spec.slug),
        ]
        api = docs[0]["spec"]["template"]["spec"]["containers"][0]
        assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert api["ports"][0]["containerPort"] == spec.port
        assert api["securityContext"]["runAsNonRoot"] is True
        assert docs[2]["spec"]["ports"][0]["port"] == spec.port
        worker = docs[1]["spec"]["template"]["spec"]["containers"][0]
        assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert worker["ports"][0]["containerPort"] == spec.port + 100
        assert docs[0]["spec"]["selector"]["matchLabels"] == docs[2]["spec"]["selector"]
    for overlay in ("dev", "production"):
        doc = yaml.safe_load(
            (ROOT / "deploy" / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text()
        )
        assert doc["resources"][0] == "../../base"
        for extra in doc["resources"][1:]:
            path = ROOT / "deploy" / "k8s" / "overlays" / overlay / extra
            assert path.is_file() or (path / "kustomization.yaml").is_file(), extra


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed on this machine")
@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_overlays_build_with_kustomize(overlay: str) -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert {s.slug for s in FLEET} | {f"{s.slug}-worker" for s in FLEET} <= deployments
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert [j["metadata"]["name"] for j in jobs] == ["aintech-migrate"]
    assert all(d["metadata"].get("namespace") == "aintech" for d in docs if d["kind"] != "Namespace")


def _client_ip_seen_by_authenticator(trusted: list[str], peer: str, forwarded_for: str) -> str | None:
    from starlette.requests import Request

    from authenticator.core.request import client_ip
    from authenticator.settings import Settings

    request = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/login",
            "headers": [(b"x-forwarded-for", forwarded_for.encode())],
            "client": (peer, 41000),
        }
    )
    return client_ip(request, Settings(trusted_proxies=trusted))


def test_authenticator_throttles_the_client_not_the_gateway_pod() -> None:
    base = ROOT / "deploy" / "k8s" / "base"
    literals = yaml.safe_load((base / "kustomization.yaml").read_text())["configMapGenerator"][0]["literals"]
    config = dict(item.split("=", 1) for item in literals)
    trusted = json.loads(config["AUTHENTICATOR_TRUSTED_PROXIES"])
    assert trusted == json.loads(config["GATEWAY_TRUSTED_PROXIES"]), "one documented pod network"
    # client -> ingress controller pod -> gateway pod -> authenticator
    assert _client_ip_seen_by_authenticator(trusted, "10.12.3.4", "203.0.113.9, 10.12.0.5") == "203.0.113.9"
    # A forged hop in front of the real client is not believed.
    assert _client_ip_seen_by_authenticator(trusted, "10.12.3.4", "1.2.3.4, 203.0.113.9, 10.12.0.5") == (
        "203.0.113.9"
    )
    # Only pods of the namespace (the gateway; the services fetching the JWKS) reach the authenticator.
    policies = [d for d in yaml.safe_load_all((base / "network-policy.yaml").read_text()) if d]
    auth_policy = next(p for p in policies if p["metadata"]["name"] == "authenticator-ingress")
    assert auth_policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "authenticator"
    assert auth_policy["spec"]["ingress"] == [
        {"from": [{"podSelector": {}}], "ports": [{"port": AUTH_PORT, "protocol": "TCP"}]}
    ]
    assert "network-policy.yaml" in yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    env = compose["services"]["authenticator"]["environment"]
    assert json.loads(env["AUTHENTICATOR_TRUSTED_PROXIES"]) == [subnet]
    assert _client_ip_seen_by_authenticator([subnet], "172.28.0.9", "203.0.113.9") == "203.0.113.9"


def test_production_carries_telephony_secrets_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ConfigMap plus the secrets the production overlay lists make a telephony that starts in
    production (no console mode, no development token) and verifies Twilio's signature on the public
    URL even though the gateway pod reaches it from the pod network."""
    from starlette.requests import Request

    from aintech_shared.webhooks import public_url
    from telephony.settings import Settings

    base = ROOT / "deploy" / "k8s" / "base"
    literals = yaml.safe_load((base / "kustomization.yaml").read_text())["configMapGenerator"][0]["literals"]
    config = {k: v for k, v in (item.split("=", 1) for item in literals) if k.startswith("TELEPHONY_")}
    assert set(config) == {
        "TELEPHONY_PUBLIC_WEBHOOK_BASE_URL",
        "TELEPHONY_TRUSTED_PROXIES",
        "TELEPHONY_OFFICE_TIMEZONE",
        "TELEPHONY_OFFICE_DAYS",
        "TELEPHONY_OFFICE_OPENS",
        "TELEPHONY_OFFICE_CLOSES",
    }
    overlay = (ROOT / "deploy" / "k8s" / "overlays" / "production" / "kustomization.yaml").read_text()
    secrets = {
        "TELEPHONY_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TELEPHONY_TWILIO_AUTH_TOKEN": "a-real-auth-token",
        "TELEPHONY_TWILIO_API_KEY_SID": "SK" + "2" * 32,
        "TELEPHONY_TWILIO_API_KEY_SECRET": "a-real-api-key-secret",
        "TELEPHONY_TWILIO_TWIML_APP_SID": "AP" + "3" * 32,
        "TELEPHONY_TWILIO_PHONE_NUMBER": "+34910123456",
    }
    for name in secrets:
        listed = name if "_API_KEY_SECRET" not in name else "_API_KEY_SECRET"
        assert listed in overlay, f"the production overlay does not list {name}"
    cluster = {
        "AINTECH_ENV": "production",
        "AINTECH_DATABASE_URL": "postgresql://postgres:5432/aintech",
        "TELEPHONY_DB_PASSWORD": "a-real-db-password",
    }
    for name, value in {**config, **secrets, **cluster}.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert not settings.console_mode
    assert settings.insecure_defaults() == []
    assert settings.office_days == [0, 1, 2, 3, 4] and settings.office_timezone == "Europe/Madrid"

    # Twilio signs https://api.aintech.example/...; the request reaches telephony from the gateway pod.
    request = Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "path": "/webhooks/twilio/voice/status",
            "raw_path": b"/webhooks/twilio/voice/status",
            "query_string": b"call_id=1",
            "headers": [
                (b"host", b"telephony:8003"),
                (b"x-forwarded-proto", b"https"),
                (b"x-forwarded-host", b"api.aintech.example"),
            ],
            "client": ("10.12.0.5", 41000),
        }
    )
    signed = f"{settings.public_webhook_base_url}/webhooks/twilio/voice/status?call_id=1"
    assert public_url(request, settings) == signed


def test_production_overlay_lists_every_secret_omnichannel_refuses_to_start_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from omnichannel.settings import Settings

    monkeypatch.setenv("AINTECH_ENV", "production")
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(f"OMNICHANNEL_{name}", raising=False)
    with pytest.raises(ValidationError) as refused:
        Settings()
    missing = str(refused.value).rsplit("development defaults: ", 1)[1].split("[", 1)[0].strip(" ,\n")
    names = [n.strip() for n in missing.split(",")]
    assert "OMNICHANNEL_SENDGRID_API_KEY" in names and "OMNICHANNEL_PUBLIC_BASE_URL" in names
    overlay = (ROOT / "deploy" / "k8s" / "overlays" / "production" / "kustomization.yaml").read_text()
    listed = {line.split()[1] for line in overlay.splitlines() if line.startswith("#   ")}
    for name in names:
        if name.endswith("_DB_PASSWORD"):
            assert "<SERVICE>_DB_PASSWORD" in listed
        else:
            assert name in listed, f"{name} is not in the production overlay's secret list"

    # Behind the gateway, the Twilio signature covers the URL the gateway forwarded: omnichannel
    # trusts the same hops as the gateway, in the cluster and in compose.
    base = ROOT / "deploy" / "k8s" / "base"
    literals = yaml.safe_load((base / "kustomization.yaml").read_text())["configMapGenerator"][0]["literals"]
    config = dict(item.split("=", 1) for item in literals)
    assert json.loads(config["OMNICHANNEL_TRUSTED_PROXIES"]) == json.loads(config["GATEWAY_TRUSTED_PROXIES"])
    assert json.loads(config["OMNICHANNEL_WIDGET_ORIGINS"]) == ["https://www.aintech.example"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    env = compose["services"]["omnichannel"]["environment"]
    assert json.loads(env["OMNICHANNEL_TRUSTED_PROXIES"]) == [subnet]
