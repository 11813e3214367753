"""Sessions: the relationship's meetings, and the signals when they stop happening."""
