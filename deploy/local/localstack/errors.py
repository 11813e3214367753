"""What installing or starting a local server can fail with; each message says what to do."""

from __future__ import annotations


class MissingTool(RuntimeError):
    """A required external tool (java, javac, mvn) is not installed."""


class InstallError(RuntimeError):
    """Downloading or building a server failed."""


class StartupError(RuntimeError):
    """A server died or did not become ready in time; the message has the log tail."""
