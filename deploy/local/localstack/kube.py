"""A real Kubernetes API server for `make test-deploy`: Debian's etcd and kube-apiserver (built
into the cache by localstack.tools) on 127.0.0.1, with a token for an admin and a kubeconfig.

Nothing schedules pods (no controller manager, no kubelet): it validates and stores what the chart
creates, which is what the test checks. `request` speaks its REST API directly, so server-side
dry runs need no kubectl.
"""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from localstack.errors import MissingTool, StartupError
from localstack.process import ManagedServer, ensure_ports_free, free_port
from localstack.tools import install_kube_apiserver

# Where each kind the chart renders lives in the API (namespaced collections).
API_PATHS: dict[str, str] = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Service": "/api/v1/namespaces/{ns}/services",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
}


class EtcdServer(ManagedServer):
    name = "etcd"
    cmd_marker = "etcd"

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.port = free_port()
        self.peer_port = free_port()
        self.log = self.dir / "etcd.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        etcd = shutil.which("etcd")
        if etcd is None:
            raise MissingTool("etcd is Debian's etcd-server package: apt-get install etcd-server")
        ensure_ports_free("etcd", {"port": self.port, "peer_port": self.peer_port})
        peer = f"http://127.0.0.1:{self.peer_port}"
        cmd = [
            etcd,
            "--name=default",
            f"--data-dir={self.dir / 'data'}",
            f"--listen-client-urls={self.url}",
            f"--advertise-client-urls={self.url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--log-level=warn",
        ]
        self._spawn(cmd, self.log, {"port": self.port})
        self._wait_ready(timeout, self._protocol_ok, [self.log])

    def _protocol_ok(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/health", timeout=3) as response:
            return bool(json.load(response).get("health") == "true")


class KubeApiServer(ManagedServer):
    """kube-apiserver on etcd, serving HTTPS with a self-signed certificate and token auth."""

    name = "kube-apiserver"
    cmd_marker = "kube-apiserver"

    def __init__(self, state_dir: Path, etcd_url: str) -> None:
        super().__init__(state_dir)
        self.etcd_url = etcd_url
        self.port = free_port()
        self.token = secrets.token_urlsafe(24)
        self.log = self.dir / "kube-apiserver.log"
        self.kubeconfig = self.dir / "kubeconfig"
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE  # its own throwaway self-signed certificate

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        binary = install_kube_apiserver()
        ensure_ports_free("kube-apiserver", {"port": self.port})
        self.dir.mkdir(parents=True, exist_ok=True)
        key, pub = self.dir / "sa.key", self.dir / "sa.pub"
        for cmd in (
            ["openssl", "genrsa", "-out", str(key), "2048"],
            ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)],
        ):
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                raise StartupError(f"{' '.join(cmd)} failed (is openssl installed?)")
        (self.dir / "tokens.csv").write_text(f"{self.token},admin,admin,system:masters\n")
        cmd = [
            str(binary),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # No kubernetes Service endpoints for a loopback address (and no pods to reach it).
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.port}",
            f"--cert-dir={self.dir / 'certs'}",
            f"--token-auth-file={self.dir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={pub}",
            f"--service-account-signing-key-file={key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
        ]
        self._spawn(cmd, self.log, {"port": self.port})
        self._wait_ready(timeout, self._protocol_ok, [self.log])
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "local", "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}
                    ],
                    "users": [{"name": "admin", "user": {"token": self.token}}],
                    "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
                    "current-context": "local",
                }
            )
        )

    def _protocol_ok(self) -> bool:
        try:
            status, body = self.request("GET", "/readyz")
        except urllib.error.URLError:
            return False
        return status == 200 and body == "ok"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """One API call; returns (status, parsed JSON or text), also for 4xx answers."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=self._tls) as response:
                status, raw = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read().decode()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def create(self, manifest: dict[str, Any], namespace: str, *, dry_run: bool = False) -> tuple[int, Any]:
        """Create one object with strict field validation (unknown or duplicate fields are errors);
        `dry_run` validates it on the server and stores nothing."""
        path = API_PATHS[manifest["kind"]].format(ns=namespace)
        query = "?fieldValidation=Strict" + ("&dryRun=All" if dry_run else "")
        return self.request("POST", path + query, manifest)
