"""CLI for the local stack (run with `deploy/local` on the path, as make does)::

python -m localstack install
python -m localstack start  [--state-dir DIR] [--kafka-port 9092] [--mongo-port 27017] [--memory]
python -m localstack status [--state-dir DIR]
python -m localstack stop   [--state-dir DIR]
python -m localstack reset  [--state-dir DIR]     stop, then forget all data (Kafka's and the store's)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from localstack.errors import InstallError, MissingTool, StartupError
from localstack.install import KAFKA_VERSION, STORE_VERSION, install_kafka, install_store
from localstack.kafka import KafkaServer
from localstack.node_tools import install_all as install_node_tools_and_browser
from localstack.process import ManagedServer
from localstack.store import MongoStore
from localstack.zipkin import ZipkinServer

REPO_ROOT = Path(__file__).resolve().parents[3]


def default_state_dir() -> Path:
    # Same override as deploy/local/run_platform.py, so `make status/stop` find its servers.
    return Path(os.environ.get("MENTORSHIP_STATE_DIR") or REPO_ROOT / ".local")


def stack_servers(state: Path, *, persistent: bool = True) -> tuple[KafkaServer, MongoStore]:
    """The stack's servers, each in its own sub-directory of the stack state dir.

    Without explicit ports they adopt those of an instance already running there.
    """
    return KafkaServer(state / "kafka"), MongoStore(state / "store", persistent=persistent)


def _status_line(server: KafkaServer | MongoStore) -> tuple[bool, str]:
    address = (
        f"bootstrap_servers={server.bootstrap_servers}"
        if isinstance(server, KafkaServer)
        else f"url={server.url}"
    )
    if server.is_ready():
        return True, f"{server.name:<6} running  {address}  pid={server.pid()}"
    if server.is_running():
        return False, f"{server.name:<6} running but not answering  {address}  pid={server.pid()}"
    return False, f"{server.name:<6} stopped"


def _cmd_install(_: argparse.Namespace) -> int:
    t0 = time.monotonic()
    print(f"kafka {KAFKA_VERSION}: {install_kafka()} ({time.monotonic() - t0:.1f}s)")
    t0 = time.monotonic()
    print(f"mongo-java-server {STORE_VERSION}: {install_store()} ({time.monotonic() - t0:.1f}s)")
    print(*install_node_tools_and_browser(), sep="\n")
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    # An instance already running from this state dir keeps its ports (start is idempotent).
    kafka, store = stack_servers(state)
    if not kafka.is_running():
        kafka = KafkaServer(
            state / "kafka", args.kafka_port, controller_port=args.kafka_controller_port or None
        )
    if not store.is_running():
        store = MongoStore(state / "store", args.mongo_port, persistent=not args.memory, long_running=True)
    started: list[ManagedServer] = []
    try:
        servers: tuple[ManagedServer, ...] = (kafka, store)
        for server in servers:
            if server.is_running():
                print(f"{server.name} already running (pid {server.pid()})")
                continue
            t0 = time.monotonic()
            server.start(timeout=args.timeout)
            started.append(server)
            print(f"{server.name} ready in {time.monotonic() - t0:.1f}s (pid {server.pid()})")
    except BaseException:
        # Do not leave half a stack behind: stop what this invocation started.
        for server in started:
            server.stop()
        raise
    info = {"bootstrap_servers": kafka.bootstrap_servers, "mongo_url": store.url}
    state.mkdir(parents=True, exist_ok=True)
    (state / "stack.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"KAFKA_BOOTSTRAP_SERVERS={kafka.bootstrap_servers}")
    print(f"MONGODB_URL={store.url}")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    for server in stack_servers(state):
        was = server.is_running()
        server.stop()
        print(f"{server.name} {'stopped' if was else 'was not running'}")
    zipkin = ZipkinServer(state / "zipkin")  # make run's trace UI, if a crash left it behind
    if zipkin.is_running():
        zipkin.stop()
        print("zipkin stopped")
    (state / "stack.json").unlink(missing_ok=True)
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    _cmd_stop(args)
    state = Path(args.state_dir)
    kafka, store = stack_servers(state)
    store.reset()
    shutil.rmtree(kafka.data_dir, ignore_errors=True)
    print(f"forgot all data under {state}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    all_up = True
    for server in stack_servers(Path(args.state_dir)):
        up, line = _status_line(server)
        all_up &= up
        print(line)
    return 0 if all_up else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localstack", description="The local Kafka and store.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "install",
        help=f"download Kafka {KAFKA_VERSION}, mongo-java-server {STORE_VERSION}, the npm tools and chromium",
    )

    def with_state(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--state-dir",
            default=str(default_state_dir()),
            help="where data, logs and pid files live (default: $MENTORSHIP_STATE_DIR or <repo>/.local)",
        )
        return p

    start = with_state(sub.add_parser("start", help="start both servers detached and wait until ready"))
    start.add_argument("--kafka-port", type=int, default=9092)
    start.add_argument("--kafka-controller-port", type=int, default=0, help="default: a free port")
    start.add_argument("--mongo-port", type=int, default=27017)
    start.add_argument("--memory", action="store_true", help="the store keeps nothing across restarts")
    start.add_argument("--timeout", type=float, default=120, help="readiness deadline per server, seconds")
    with_state(sub.add_parser("stop", help="stop both servers"))
    with_state(sub.add_parser("status", help="exit 0 if both servers answer, else 1"))
    with_state(sub.add_parser("reset", help="stop both servers and delete their data"))

    args = parser.parse_args(argv)
    commands = {
        "install": _cmd_install,
        "start": _cmd_start,
        "stop": _cmd_stop,
        "status": _cmd_status,
        "reset": _cmd_reset,
    }
    try:
        return commands[args.command](args)
    except MissingTool as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (InstallError, StartupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
