"""What every mentorship service shares: settings, MongoDB, Kafka, the outbox, the idempotent
consumer with retries and a dead-letter topic, telemetry, portal auth, problem errors, a clock."""
