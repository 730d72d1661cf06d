"""The LED board player: board logic, the local player page and its websocket (issue 7)."""

from .board import LedBoard
from .logic import BoardLogic

__all__ = ["BoardLogic", "LedBoard"]
