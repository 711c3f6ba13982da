"""Discord-shaped API failures and the nested form-error collector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PathPart = str | int


class DiscordHTTPError(Exception):
    """An API failure that the server renders exactly like Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        # Extra headers (e.g. Retry-After on an injected 429).
        self.headers: dict[str, str] = {}
        self.extra: dict[str, Any] = {}

    def body(self) -> dict[str, Any]:
        """The JSON body Discord would send."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class StandInUsageError(AssertionError):
    """A test asked the stand-in for something a real Discord user could not do."""


class FormErrors:
    """Collects validation failures into Discord's nested ``errors`` tree (code 50035)."""

    def __init__(self) -> None:
        self._tree: dict[str, Any] = {}

    def add(self, path: Sequence[PathPart], code: str, message: str) -> None:
        node = self._tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self._tree)

    @property
    def tree(self) -> dict[str, Any]:
        return self._tree

    def raise_if_any(self) -> None:
        if self._tree:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body", self._tree)


def simple(status: int, code: int, message: str) -> DiscordHTTPError:
    return DiscordHTTPError(status, code, message)


def unauthorized() -> DiscordHTTPError:
    return simple(401, 0, "401: Unauthorized")


def not_found() -> DiscordHTTPError:
    return simple(404, 0, "404: Not Found")


def method_not_allowed() -> DiscordHTTPError:
    return simple(405, 0, "405: Method Not Allowed")


def internal_error() -> DiscordHTTPError:
    return simple(500, 0, "500: Internal Server Error")


def unknown_channel() -> DiscordHTTPError:
    return simple(404, 10003, "Unknown Channel")


def unknown_guild() -> DiscordHTTPError:
    return simple(404, 10004, "Unknown Guild")


def unknown_member() -> DiscordHTTPError:
    return simple(404, 10007, "Unknown Member")


def unknown_message() -> DiscordHTTPError:
    return simple(404, 10008, "Unknown Message")


def unknown_user() -> DiscordHTTPError:
    return simple(404, 10013, "Unknown User")


def unknown_emoji() -> DiscordHTTPError:
    return simple(400, 10014, "Unknown Emoji")


def unknown_webhook() -> DiscordHTTPError:
    return simple(404, 10015, "Unknown Webhook")


def unknown_interaction() -> DiscordHTTPError:
    return simple(404, 10062, "Unknown interaction")


def unknown_command() -> DiscordHTTPError:
    return simple(404, 10063, "Unknown application command")


def not_application_owner() -> DiscordHTTPError:
    return simple(403, 20012, "You are not authorized to perform this action on this application")


def max_reactions() -> DiscordHTTPError:
    return simple(400, 30010, "Maximum number of reactions reached (20)")


def entity_too_large() -> DiscordHTTPError:
    return simple(413, 40005, "Request entity too large")


def already_acknowledged() -> DiscordHTTPError:
    return simple(400, 40060, "Interaction has already been acknowledged.")


def missing_access() -> DiscordHTTPError:
    return simple(403, 50001, "Missing Access")


def not_message_author() -> DiscordHTTPError:
    return simple(403, 50005, "Cannot edit a message authored by another user")


def empty_message() -> DiscordHTTPError:
    return simple(400, 50006, "Cannot send an empty message")


def cannot_dm_user() -> DiscordHTTPError:
    return simple(403, 50007, "Cannot send messages to this user")


def non_text_channel() -> DiscordHTTPError:
    return simple(400, 50008, "Cannot send messages in a non-text channel")


def missing_permissions() -> DiscordHTTPError:
    return simple(403, 50013, "Missing Permissions")


def invalid_webhook_token() -> DiscordHTTPError:
    return simple(401, 50027, "Invalid Webhook Token")


def invalid_json() -> DiscordHTTPError:
    return simple(400, 50109, "The request body contains invalid JSON.")


def reply_without_history() -> DiscordHTTPError:
    return simple(403, 160002, "Cannot reply without permission to read message history")


def invalid_form(path: Sequence[PathPart], code: str, message: str) -> DiscordHTTPError:
    """A single-entry 50035 error."""
    errors = FormErrors()
    errors.add(path, code, message)
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors.tree)
