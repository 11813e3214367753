"""The Helm chart: lints clean, renders to manifests the Kubernetes schemas accept strictly, and
renders what an operator relies on (probes, limits, security, scaling, secrets, OTEL_*)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CHART, VENV_BIN

SERVICES = ("profiles", "matching", "sessions", "notifications")

# A second set of values: JWKS instead of a PEM key, SMTP and the chat webhook on, MongoDB by URL.
OPERATOR_VALUES = [
    "auth.jwksKey=jwks.json",
    "auth.issuer=https://portal.example.com",
    "smtp.host=smtp.example.com",
    "smtp.existingSecret=mentorship-smtp",
    "chatWebhook.existingSecret=mentorship-chat",
    "mongodb.existingSecret=",
    "mongodb.url=mongodb://mongo-0.mongo:27017/?replicaSet=rs0",
    "services.sessions.autoscaling.enabled=false",
    "services.sessions.replicas=3",
]


@functools.cache
def _render(helm: Path, *values: str) -> str:
    args = [str(helm), "template", "mentorship", str(CHART), "--namespace", "mentorship"]
    for value in values:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _documents(rendered: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_chart_lints_clean_in_strict_mode(helm: Path) -> None:
    result = subprocess.run(
        [str(helm), "lint", "--strict", str(CHART)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def _validate(manifests: str, kubernetes: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "kubernetes-validate"), "--strict", "--quiet", "-k", kubernetes, "/dev/stdin"],
        input=manifests,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("values", [[], OPERATOR_VALUES], ids=["defaults", "jwks-smtp-webhook-mongo-url"])
@pytest.mark.parametrize("kubernetes", ["1.30.0", "1.37.0"])
def test_rendered_chart_passes_strict_kubernetes_schema_validation(
    helm: Path, values: list[str], kubernetes: str
) -> None:
    rendered = _render(helm, *values)
    result = _validate(rendered, kubernetes)
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {doc["kind"] for doc in _documents(rendered)}
    assert kinds == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "ServiceAccount",
        "Job",
    }


def test_strict_validation_rejects_a_field_kubernetes_does_not_know(helm: Path) -> None:
    rendered = _render(helm).replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  replicaz: 2", 1)
    result = _validate(rendered, "1.37.0")
    assert result.returncode != 0
    assert "replicaz" in result.stdout + result.stderr


def test_each_service_is_a_hardened_deployment_probed_on_health_and_ready(helm: Path) -> None:
    docs = _documents(_render(helm))
    deployments = _by_kind(docs, "Deployment")
    assert sorted(deployments) == sorted(f"mentorship-{name}" for name in SERVICES)
    for name in SERVICES:
        pod = deployments[f"mentorship-{name}"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == [name], "the command names the service module"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert pod["automountServiceAccountToken"] is False
        env = _env(container)
        assert env["OTEL_SERVICE_NAME"] == name
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")
        assert env["KAFKA_BOOTSTRAP_SERVERS"].count(":9092") == 3
        assert env["MONGODB_URL"] == {"secretKeyRef": {"name": "mentorship-mongodb", "key": "url"}}
        assert env["AUTH_PUBLIC_KEY_FILE"] == "/etc/mentorship/auth/public-key.pem"
        auth_volume = next(v for v in pod["volumes"] if v["name"] == "portal-auth")
        assert auth_volume["secret"]["secretName"] == "mentorship-portal-auth"
    config = _by_kind(docs, "ConfigMap")["mentorship"]["data"]
    assert config["AUTH_ALLOW_DEV_HS256"] == "false"
    assert config["HTTP_HOST"] == "0.0.0.0"


def test_every_service_scales_with_an_hpa_and_keeps_replicas_through_disruptions(helm: Path) -> None:
    docs = _documents(_render(helm))
    hpas, pdbs = _by_kind(docs, "HorizontalPodAutoscaler"), _by_kind(docs, "PodDisruptionBudget")
    for name in SERVICES:
        hpa = hpas[f"mentorship-{name}"]["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"mentorship-{name}",
        }
        assert hpa["minReplicas"] >= 2
        assert hpa["maxReplicas"] <= 6, "more consumers than partitions (6) would stay idle"
        assert pdbs[f"mentorship-{name}"]["spec"]["maxUnavailable"] == 1
        assert "replicas" not in _by_kind(docs, "Deployment")[f"mentorship-{name}"]["spec"], (
            "an HPA owns the replica count"
        )


def test_operator_values_take_jwks_smtp_and_webhook_credentials_from_secrets(helm: Path) -> None:
    docs = _documents(_render(helm, *OPERATOR_VALUES))
    deployments = _by_kind(docs, "Deployment")
    notifications = _env(deployments["mentorship-notifications"]["spec"]["template"]["spec"]["containers"][0])
    assert notifications["SMTP_HOST"] == "smtp.example.com"
    assert notifications["SMTP_PASSWORD"] == {"secretKeyRef": {"name": "mentorship-smtp", "key": "password"}}
    assert notifications["CHAT_WEBHOOK_URL"] == {"secretKeyRef": {"name": "mentorship-chat", "key": "url"}}
    assert notifications["CHAT_WEBHOOK_SECRET"] == {
        "secretKeyRef": {"name": "mentorship-chat", "key": "secret"}
    }
    assert notifications["AUTH_JWKS_FILE"] == "/etc/mentorship/auth/jwks.json"
    assert "AUTH_PUBLIC_KEY_FILE" not in notifications
    assert notifications["MONGODB_URL"] == "mongodb://mongo-0.mongo:27017/?replicaSet=rs0"
    profiles = _env(deployments["mentorship-profiles"]["spec"]["template"]["spec"]["containers"][0])
    assert "SMTP_HOST" not in profiles
    assert "CHAT_WEBHOOK_URL" not in profiles
    assert deployments["mentorship-sessions"]["spec"]["replicas"] == 3
    assert "mentorship-sessions" not in _by_kind(docs, "HorizontalPodAutoscaler")


def test_topics_are_created_by_a_pre_install_job_with_the_configured_replication(helm: Path) -> None:
    docs = _documents(_render(helm, "kafka.topics.replicationFactor=2"))
    job = _by_kind(docs, "Job")["mentorship-topics"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert "ensure_topics" in container["args"][0]
    assert _env(container)["TOPIC_REPLICATION_FACTOR"] == "2"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_chart_refuses_to_render_without_the_portal_key_secret(helm: Path) -> None:
    args = [str(helm), "template", "mentorship", str(CHART), "--set", "auth.existingSecret="]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "auth.existingSecret is required" in result.stderr
