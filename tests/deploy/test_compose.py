"""The compose file: valid for Compose v2 (`docker compose config`), its images are variables, and
each service is health-checked on /ready, hardened, and scalable (no fixed container name or port)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.deploy.conftest import COMPOSE_FILE

SERVICES = ("profiles", "matching", "sessions", "notifications")


def _config(compose: Path, **env: str) -> dict[str, Any]:
    # Only the variables given: the developer's own shell must not change what is checked.
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    result = subprocess.run(
        [str(compose), "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_file_is_valid_for_compose_v2(compose: Path) -> None:
    result = subprocess.run(
        [str(compose), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "no warnings (unset variables, obsolete keys)"


def test_official_images_by_default_and_local_stand_ins_through_variables(compose: Path) -> None:
    default = _config(compose)["services"]
    assert default["kafka"]["image"] == "apache/kafka:4.1.1"
    assert default["mongodb"]["image"] == "mongo:7.0"
    assert default["zipkin"]["image"] == "openzipkin/zipkin:3.6.1"
    stand_ins = _config(
        compose,
        KAFKA_IMAGE="local/kafka:test",
        MONGODB_IMAGE="local/store:test",
        ZIPKIN_IMAGE="local/zipkin:test",
        PLATFORM_IMAGE="local/platform:test",
    )["services"]
    assert stand_ins["kafka"]["image"] == "local/kafka:test"
    assert stand_ins["mongodb"]["image"] == "local/store:test"
    assert stand_ins["zipkin"]["image"] == "local/zipkin:test"
    assert {stand_ins[name]["image"] for name in (*SERVICES, "topics")} == {"local/platform:test"}


def test_services_are_checked_on_ready_hardened_and_start_after_the_topics_exist(compose: Path) -> None:
    services = _config(compose)["services"]
    for name in SERVICES:
        service = services[name]
        assert service["command"] == [name]
        assert "/ready" in " ".join(service["healthcheck"]["test"])
        assert service["read_only"] is True
        assert service["user"] == "10001:10001"
        assert service["cap_drop"] == ["ALL"]
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert "container_name" not in service, "a fixed name would forbid --scale"
        env = service["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["OTEL_TRACES_EXPORTER"] == "zipkin"
        assert env["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] == "http://zipkin:9411/api/v2/spans"
        assert env["AUTH_ALLOW_DEV_HS256"] == "false", "development tokens only when asked for"
        (port,) = service["ports"]
        assert port["target"] == 8000
        assert "-" in port["published"], "a port range, one host port per replica"
    assert "ensure_topics" in " ".join(services["topics"]["command"])
    assert services["notifications"]["environment"]["SMTP_HOST"] == ""
