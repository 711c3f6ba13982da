"""Per-user history and server galleries: the rules between their screens and storage."""

from bot.library.export import EXPORT_FORMATS, export_history
from bot.library.retention import Pruner
from bot.library.service import Library

__all__ = ["EXPORT_FORMATS", "Library", "Pruner", "export_history"]
