"""Settings every service shares, read from the environment with defaults that suit `make run`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Subclass per service with `env_prefix` left empty: the names below are shared on purpose so
    one environment (local stack, CI, k8s ConfigMap) configures all four services."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "service"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    # Each service owns the database <prefix><service_name>; tests use their own prefix.
    mongodb_database_prefix: str = "mentorship_"
    # How long an operation waits for an unreachable store (then the request gets a 503).
    mongodb_timeout_ms: int = Field(default=5_000, ge=100, le=120_000)
    # Defaults to mentorship.<service_name>; tests running a second copy set their own.
    consumer_group_id: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Request bodies above this get 413 (a route that needs more says so: max_body_size=...).
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    # Told to callers with a 503 while the store or the broker is unreachable.
    http_retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # The @asyncapi/react-component package /docs/asyncapi serves; default: the install step's copy.
    docs_asyncapi_viewer_dir: str | None = None

    # Outbox relay: writes wake it and name their documents; besides, it waits at most
    # `outbox_poll_seconds` between passes, and scans every collection every `outbox_scan_seconds`
    # (for events a crashed process or another replica left behind).
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_scan_seconds: float = Field(default=5.0, gt=0)
    # Documents per relay pass (one read, their events sent, one clearing write). Beside a busy
    # consumer each of a pass's round trips waits its turn on the event loop: at 100 the relay
    # fell behind sessions' and notifications' consumers (20,000 records in, their events all
    # out, two rounds: 797-915/s against 926-1,103 at 500; 2,000 was no better than 500).
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)

    # The outbox relay's producer: a record batch per partition holds up to `producer_batch_bytes`
    # (Kafka's batch.size; aiokafka's default 16 KiB cut a relay pass of 1,000 events into dozens
    # of batches, each with its own header, checksum and broker-side append). Against aiokafka's
    # defaults, sessions' bench (20,000 PairCreated, two events out each; 1 MiB batches with 5 ms
    # linger): Kafka's CPU per record 0.138 and 0.132 ms -> 0.084 and 0.076, the service's own
    # 0.619 and 0.638 -> 0.559 and 0.533. A batch that is not full may wait `producer_linger_ms`
    # for more (linger.ms): 0, since a relay pass queues all its events before the producer sends
    # (5 measured the same, and cost every pass of a serial relay 5 ms). Kept below the broker's
    # 1 MB message.max.bytes.
    producer_linger_ms: int = Field(default=0, ge=0, le=1000)
    producer_batch_bytes: int = Field(default=512 * 1024, ge=16 * 1024, le=1_000_000)

    # Consumers: transient failures are retried in place this many times with exponential
    # backoff before the record goes to the dead-letter topic.
    consumer_max_attempts: int = Field(default=5, ge=1, le=50)
    # Records are fetched and handled in batches (one ledger query and write per batch); records
    # of different aggregates run concurrently, up to `consumer_concurrency` (a whole batch by
    # default, so its handlers share their round trips to the store: servicekit.grouped).
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    consumer_concurrency: int = Field(default=500, ge=1, le=10_000)
    # Members of the consumer group in this process (servicekit.consumer.EventConsumer): each
    # reads its share of the partitions, so one batch's handlers can run while another's wait on
    # the store. More than a topic's partitions would leave some idle. One, with fetches held as
    # below, took as many records per second as two under a flood (20,000 records, two rounds) and
    # halved the journey's tail (`make bench`: 50 registrations/s, p99 to PairCreated 1.57 and
    # 1.23 s against 3.93 and 2.11 s with two): two members split a trickle into twice the batches.
    consumer_streams: int = Field(default=1, ge=1, le=6)
    # Lanes of a large batch (servicekit.consumer.EventConsumer): its keys split in this many,
    # started one after another, so one lane's handlers run while another's wait on the store.
    # They pay where handlers wait on the store between steps of CPU (sessions sets two); a
    # service already busy through its batches gains nothing (notifications' flood: two lanes
    # 1,256 records/s against one 1,396, medians of six rounds alternated, within their spread),
    # nor one with little CPU between its reads and writes (profiles: 2,664 against 2,736).
    consumer_lanes: int = Field(default=1, ge=1, le=8)
    # How long the broker may hold a consumer's fetch to gather records (Kafka's fetch.max.wait.ms,
    # with fetch.min.bytes at 1 MiB): under a trickle each fetch, and so each batch with its ledger
    # query, store writes and commit, carries the records of this span, not one or two; under load
    # 1 MiB is there at once and nothing waits. 0 answers every fetch at its first record (at 100,
    # against 0: the journey's p99 3.93 and 2.11 s against 7.91 and 2.97 s, sessions' CPU per
    # mentee down by a third).
    consumer_fetch_wait_ms: int = Field(default=100, ge=0, le=1000)
    # Where a new consumer group starts: "earliest" so a first deployment misses no event; a test
    # that only needs what happens after it starts sets "latest" and skips the topics' history.
    consumer_start_from: Literal["earliest", "latest"] = "earliest"
    consumer_backoff_seconds: float = Field(default=0.2, gt=0)
    consumer_backoff_max_seconds: float = Field(default=5.0, gt=0)

    # Python's cyclic garbage collector runs on this timer instead of on allocation counts
    # (servicekit.garbage: it took 12-18% of a consumer's CPU); 0 keeps CPython's own schedule.
    gc_interval_seconds: float = Field(default=10.0, ge=0, le=3600)

    # Portal authentication (see servicekit.auth). RS256 in production; HS256 only in development.
    auth_audience: str = "mentorship-platform"
    auth_issuer: str | None = None
    auth_public_key_file: str | None = None
    auth_jwks_file: str | None = None
    auth_dev_hs256_secret: str | None = None
    auth_allow_dev_hs256: bool = False

    # "shared": every service reads the platform clock a developer or a test moves forward
    # (servicekit.clock.SharedClock, `/dev/clock`); development and tests only.
    clock: Literal["system", "shared"] = "system"
    clock_refresh_seconds: float = Field(default=1.0, gt=0, le=60)

    @model_validator(mode="after")
    def _shared_clock_only_in_development(self) -> ServiceSettings:
        if self.clock == "shared" and not self.auth_allow_dev_hs256:
            raise ValueError(
                "CLOCK=shared lets anyone with an admin token move the platform's time: it is for "
                "development and tests only and needs the development switch AUTH_ALLOW_DEV_HS256=true. "
                "Production runs on the system clock: unset CLOCK (or set CLOCK=system)."
            )
        return self

    @property
    def database_name(self) -> str:
        return f"{self.mongodb_database_prefix}{self.service_name}"

    @property
    def platform_database_name(self) -> str:
        """Where what the whole platform shares in development lives (the shared clock)."""
        return f"{self.mongodb_database_prefix}platform"

    @property
    def consumer_group(self) -> str:
        return self.consumer_group_id or f"mentorship.{self.service_name}"
