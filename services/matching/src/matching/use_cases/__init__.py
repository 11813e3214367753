"""What the matching service does, one module per concern; each use case takes the `Matching`
context (its stores, read queries and clock) and never touches HTTP or Kafka."""
