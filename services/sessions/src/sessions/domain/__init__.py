"""The sessions domain: the relationship aggregate and its pure rules (no I/O, no clock reads)."""
