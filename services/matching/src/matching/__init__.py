"""Matching: turns waiting mentees and available mentors into pairs."""
