"""Notifications: turns events into messages for the right people, once each."""
