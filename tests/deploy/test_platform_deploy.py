"""`make test-deploy` (minutes; never in `make test`): the deployment artifacts on real engines.

1. Docker: a private dockerd builds the platform image on a local Debian base (debootstrap) and the
   Kafka, store and Zipkin stand-ins from the cached jars; compose brings the platform up with two
   replicas of each service; over HTTP a mentor and a mentee register, matching pairs them and both
   are notified; each service's consumer group has members in both replicas; Zipkin holds the trace.
2. Kubernetes: the chart is installed with Helm on a real kube-apiserver (etcd behind it), every
   rendered object (the topics hook Job too) passes the server's strict validation.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from localstack.docker import DockerDaemon, image_size_mb, platform_image, running_daemon, standin_images
from localstack.kube import EtcdServer, KubeApiServer
from servicekit.auth import issue_dev_token

from tests.deploy.conftest import CHART, COMPOSE_FILE
from tests.waiting import eventually

pytestmark = [pytest.mark.deploy_platform, pytest.mark.timeout(1800)]

SERVICES = ("profiles", "matching", "sessions", "notifications")
SECRET = "test-deploy-development-secret-0123456789"
REPLICAS = 2


def _free_range(size: int) -> int:
    """The first port of `size` consecutive free ports on 127.0.0.1."""
    for start in range(21000, 40000, 17):
        try:
            for port in range(start, start + size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return start
    raise RuntimeError("no free port range")


@dataclass
class ComposedPlatform:
    compose: Path
    daemon: DockerDaemon
    project: str
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 600) -> str:
        proc = subprocess.run(
            [str(self.compose), "-p", self.project, "-f", str(COMPOSE_FILE), *args],
            env={**self.daemon.env(), **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == 0, (
            f"compose {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
        return proc.stdout

    def urls(self, service: str) -> list[str]:
        return [
            "http://" + self.run("port", "--index", str(index), service, "8000").strip()
            for index in range(1, REPLICAS + 1)
        ]

    def containers(self) -> list[dict[str, Any]]:
        out = self.run("ps", "--all", "--format", "json")
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [item for line in lines for item in (line if isinstance(line, list) else [line])]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerDaemon]:
    with running_daemon(tmp_path_factory.mktemp("dockerd")) as running:
        yield running


@pytest.fixture(scope="module")
def platform(
    daemon: DockerDaemon, compose: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposedPlatform]:
    timings: dict[str, float] = {}
    started = time.monotonic()
    images = standin_images(daemon)
    timings["stand-in images (kafka, store, zipkin)"] = time.monotonic() - started
    started = time.monotonic()
    images["PLATFORM_IMAGE"] = platform_image(daemon)
    timings["platform image"] = time.monotonic() - started
    first = _free_range(4 * 4 + 1)
    env = {
        **images,
        "AUTH_ALLOW_DEV_HS256": "true",
        "AUTH_DEV_HS256_SECRET": SECRET,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "ZIPKIN_PUBLISH": f"127.0.0.1:{first + 16}",
        **{
            f"{name.upper()}_PUBLISH": f"127.0.0.1:{first + 4 * i}-{first + 4 * i + 3}"
            for i, name in enumerate(SERVICES)
        },
    }
    running = ComposedPlatform(compose, daemon, f"mentorship-deploytest-{uuid.uuid4().hex[:6]}", env, timings)
    scale = [arg for name in SERVICES for arg in ("--scale", f"{name}={REPLICAS}")]
    started = time.monotonic()
    try:
        running.run("up", "--detach", "--wait", "--wait-timeout", "400", *scale, timeout=600)
        timings["compose up --wait (8 services healthy)"] = time.monotonic() - started
        yield running
    finally:
        logs = tmp_path_factory.mktemp("compose-logs") / "compose.log"
        logs.write_text(running.run("logs", "--no-color", "--timestamps"))
        running.run("down", "--volumes", "--timeout", "20")
        print(f"\ncompose logs: {logs}")
        print(f"platform image size: {image_size_mb(daemon, images['PLATFORM_IMAGE']):.0f} MB")
        for what, seconds in timings.items():
            print(f"  {what}: {seconds:.1f}s")


def _auth(org: str, person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub=person, org=org, roles=['employee'])}"}


_GROUP_MEMBERS = """
import asyncio, json
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol import admin as protocol
# aiokafka 0.14 reads DescribeGroups v3 answers with the v2 layout (a missing field): use v3's own.
protocol.DescribeGroupsRequest_v3.RESPONSE_TYPE = protocol.DescribeGroupsResponse_v3
async def main():
    admin = AIOKafkaAdminClient(bootstrap_servers="kafka:9092")
    await admin.start()
    try:
        groups = [f"mentorship.{name}" for name in ("profiles", "matching", "sessions", "notifications")]
        hosts = {}
        for response in await admin.describe_consumer_groups(groups):
            for group in response.to_object()["groups"]:
                hosts[group["group"]] = sorted({m["client_host"] for m in group["members"]})
        print(json.dumps(hosts))
    finally:
        await admin.close()
asyncio.run(main())
"""


async def test_every_service_runs_two_healthy_replicas_sharing_its_consumer_group(
    platform: ComposedPlatform,
) -> None:
    containers = platform.containers()
    for name in SERVICES:
        replicas = [c for c in containers if c["Service"] == name]
        assert len(replicas) == REPLICAS
        assert {c["Health"] for c in replicas} == {"healthy"}, replicas
    (topics,) = [c for c in containers if c["Service"] == "topics"]
    assert topics["State"] == "exited"
    assert topics["ExitCode"] == 0

    def members() -> dict[str, list[str]] | None:
        out = platform.run(
            "run", "--rm", "--no-deps", "--entrypoint", "python3", "topics", "-c", _GROUP_MEMBERS
        )
        hosts: dict[str, list[str]] = json.loads(out.strip().splitlines()[-1])
        return hosts if all(len(hosts.get(f"mentorship.{n}", [])) == REPLICAS for n in SERVICES) else None

    hosts = await eventually(members, timeout=120, interval=1, what="a member of each group in each replica")
    assert all(len(set(hosts[f"mentorship.{name}"])) == REPLICAS for name in SERVICES)


async def test_registered_mentor_and_mentee_are_paired_and_notified_across_replicas(
    platform: ComposedPlatform,
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    profiles, matching = platform.urls("profiles"), platform.urls("matching")
    notifications = platform.urls("notifications")
    async with httpx.AsyncClient(timeout=10) as http:
        # The mentor registers through one replica, the mentee through the other.
        for url, person, roles, extra in (
            (profiles[0], "grace", ["mentor"], {"mentor_capacity": 2, "skills_offered": ["python"]}),
            (profiles[1], "ada", ["mentee"], {"skills_wanted": ["python"]}),
        ):
            response = await http.post(
                f"{url}/profiles",
                headers=_auth(org, person),
                json={
                    "display_name": person.title(),
                    "email": f"{person}@{org}.example.com",
                    "roles": roles,
                    **extra,
                },
            )
            assert response.status_code == 201, response.text

        async def paired(url: str) -> list[tuple[str, str]] | None:
            pairs = (await http.get(f"{url}/pairs", headers=_auth(org, "ada"))).json()
            return [(p["mentee_id"], p["mentor_id"]) for p in pairs] or None

        assert await eventually(lambda: paired(matching[0]), timeout=120, interval=0.5, what="the pair") == [
            ("ada", "grace")
        ]
        assert await paired(matching[1]) == [("ada", "grace")], "both replicas serve the one database"

        async def notified(url: str, person: str) -> bool:
            feed = await http.get(
                f"{url}/notifications", params={"recipient": person}, headers=_auth(org, person)
            )
            return any(item["kind"] == "pair_created" for item in feed.json()["items"])

        for url, person in ((notifications[0], "ada"), (notifications[1], "grace")):
            await eventually(
                lambda url=url, person=person: notified(url, person),
                timeout=120,
                interval=0.5,
                what=f"{person}'s pair_created notification",
            )

    zipkin = f"http://{platform.env['ZIPKIN_PUBLISH']}"

    def whole_trace() -> bool:
        traces = httpx.get(
            f"{zipkin}/api/v2/traces", params={"serviceName": "profiles", "limit": 50}, timeout=5
        )
        return any(
            {span.get("localEndpoint", {}).get("serviceName") for span in trace} >= set(SERVICES)
            for trace in traces.json()
        )

    await eventually(whole_trace, timeout=60, interval=1, what="a trace across the four services in Zipkin")


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeApiServer]:
    etcd = EtcdServer(tmp_path_factory.mktemp("etcd"))
    etcd.start()
    server = KubeApiServer(tmp_path_factory.mktemp("kube"), etcd.url)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        etcd.stop()


def test_chart_installs_on_a_real_api_server_and_every_object_passes_strict_server_validation(
    apiserver: KubeApiServer, helm: Path
) -> None:
    namespace = "mentorship"
    status, _ = apiserver.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    assert status == 201
    for name, data in (
        ("mentorship-portal-auth", {"public-key.pem": "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K"}),
        ("mentorship-mongodb", {"url": "bW9uZ29kYjovL21vbmdvLTA6MjcwMTcvP3JlcGxpY2FTZXQ9cnMw"}),
    ):
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data}
        status, body = apiserver.create(secret, namespace)
        assert status == 201, body

    rendered = subprocess.run(
        [str(helm), "template", "mentorship", str(CHART), "--namespace", namespace],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    for manifest in documents:
        status, body = apiserver.create(manifest, namespace, dry_run=True)
        assert status == 201, (manifest["kind"], manifest["metadata"]["name"], body)

    broken = next(doc for doc in documents if doc["kind"] == "Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/ready"
    status, body = apiserver.create(broken, namespace, dry_run=True)
    assert status in (400, 422), "strict validation refuses an unknown field"
    assert "paht" in json.dumps(body)

    # The real install: Helm creates every object (the hook Job would wait for a pod that no
    # kubelet here runs, so hooks are skipped; the Job itself passed the dry run above).
    installed = subprocess.run(
        [
            str(helm),
            "install",
            "mentorship",
            str(CHART),
            "--namespace",
            namespace,
            "--no-hooks",
            "--kubeconfig",
            str(apiserver.kubeconfig),
            "--timeout",
            "120s",
        ],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    status, deployments = apiserver.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments")
    assert status == 200
    stored = {d["metadata"]["name"]: d for d in deployments["items"]}
    assert sorted(stored) == sorted(f"mentorship-{name}" for name in SERVICES)
    for deployment in stored.values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    status, hpas = apiserver.request(
        "GET", f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"
    )
    assert len(hpas["items"]) == len(SERVICES)
    status, pdbs = apiserver.request("GET", f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets")
    assert len(pdbs["items"]) == len(SERVICES)
