"""Profiles: where a person enters the program; owns people, skills and mentor availability."""
