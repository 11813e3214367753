"""The parts of `make bench` (benchmarks/run.py): service pace, relay, journey."""
