"""The LED board player: board logic, the local player page and its websocket (docs/LED_KIOSK.md)."""

from .board import LedBoard
from .logic import BoardLogic

__all__ = ["BoardLogic", "LedBoard"]
