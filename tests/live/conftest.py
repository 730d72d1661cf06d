"""The agent tests' signing fake hub, for the live tests that drive a real agent without the real hub."""

from tests.agent.conftest import hub

__all__ = ["hub"]
