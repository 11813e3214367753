"""The local, no-Docker stack: Apache Kafka 4.x and mongo-java-server, both from Maven Central,
installed into a cache outside the repo and started as processes.

Standard library only: the test fixtures import it, and `make` runs it (`python -m localstack`)
before anything else is installed. One module per job: `install` (cache and builds), `process`
(supervision), `kafka` and `store` (the two servers and their wire probes), `__main__` (the CLI).
"""

from localstack.errors import InstallError, MissingTool, StartupError
from localstack.install import KAFKA_VERSION, STORE_VERSION, cache_dir, install_kafka, install_store
from localstack.kafka import KafkaServer, kafka_protocol_ready
from localstack.process import ManagedServer, free_port, interrupt_on_sigterm
from localstack.store import MongoStore, mongo_ping

__all__ = [
    "KAFKA_VERSION",
    "STORE_VERSION",
    "InstallError",
    "KafkaServer",
    "ManagedServer",
    "MissingTool",
    "MongoStore",
    "StartupError",
    "cache_dir",
    "free_port",
    "install_kafka",
    "install_store",
    "interrupt_on_sigterm",
    "kafka_protocol_ready",
    "mongo_ping",
]
