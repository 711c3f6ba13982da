"""Typed field checks that report failures as Discord form errors (codes mirror Discord's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .errors import FormErrors, PathPart

Path = tuple[PathPart, ...]

MISSING: Any = object()


def required(errors: FormErrors, path: Path) -> None:
    errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")


def string(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    min_len: int | None = None,
    max_len: int | None = None,
    strip: bool = False,
    allow_none: bool = True,
) -> str | None:
    """Validate an optional string field; returns the (stripped) value or None."""
    if value is None or value is MISSING:
        if not allow_none and value is None:
            required(errors, path)
        return None
    if not isinstance(value, str):
        errors.add(path, "STRING_TYPE_CONVERT", f'Could not interpret "{value!r}" as string.')
        return None
    text = value.strip() if strip else value
    length = len(text)
    if min_len is not None and max_len is not None and not min_len <= length <= max_len:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {min_len} and {max_len} in length.")
        return None
    if min_len is not None and length < min_len:
        errors.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {min_len} or more in length.")
        return None
    if max_len is not None and length > max_len:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_len} or fewer in length.")
        return None
    return text


def required_string(
    errors: FormErrors, path: Path, value: Any, *, min_len: int = 1, max_len: int, strip: bool = False
) -> str | None:
    if (
        value is None
        or value is MISSING
        or (isinstance(value, str) and not (value.strip() if strip else value))
    ):
        required(errors, path)
        return None
    return string(errors, path, value, min_len=min_len, max_len=max_len, strip=strip)


def integer(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        else:
            errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
            return None
    if minimum is not None and value < minimum:
        errors.add(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {minimum}.")
        return None
    if maximum is not None and value > maximum:
        errors.add(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {maximum}.")
        return None
    return value


def number(errors: FormErrors, path: Path, value: Any) -> float | None:
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not double.')
        return None
    return value


def boolean(errors: FormErrors, path: Path, value: Any) -> bool | None:
    if value is None or value is MISSING:
        return None
    if not isinstance(value, bool):
        errors.add(path, "BOOLEAN_TYPE_CONVERT", f'Value "{value}" is not a valid boolean.')
        return None
    return value


def snowflake(errors: FormErrors, path: Path, value: Any) -> int | None:
    if value is None or value is MISSING:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
    return None


def dictionary(errors: FormErrors, path: Path, value: Any) -> dict[str, Any] | None:
    if value is None or value is MISSING:
        return None
    if not isinstance(value, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return None
    return value


def array(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    max_len: int | None = None,
    min_len: int | None = None,
) -> list[Any] | None:
    if value is None or value is MISSING:
        return None
    if not isinstance(value, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return None
    if max_len is not None and len(value) > max_len:
        if min_len is not None:
            errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {min_len} and {max_len} in length.")
        else:
            errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_len} or fewer in length.")
        return None
    if min_len is not None and len(value) < min_len:
        if max_len is not None:
            errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {min_len} and {max_len} in length.")
        else:
            errors.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {min_len} or more in length.")
        return None
    return value


def choice(errors: FormErrors, path: Path, value: Any, choices: Sequence[Any]) -> Any:
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool) or value not in choices:
        rendered = "(" + ", ".join(repr(c) for c in choices) + ")"
        errors.add(path, "BASE_TYPE_CHOICES", f"Value must be one of {rendered}.")
        return None
    return value


def url(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    schemes: tuple[str, ...] = ("http", "https"),
    max_len: int = 2048,
    attachment_names: set[str] | None = None,
) -> str | None:
    """Validate a URL; ``attachment://name`` is allowed when ``attachment_names`` is given."""
    text = string(errors, path, value, max_len=max_len)
    if text is None:
        return None
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if not scheme or not (parts.netloc or scheme == "attachment"):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        return None
    allowed = schemes + (("attachment",) if attachment_names is not None else ())
    if scheme not in allowed:
        errors.add(
            path,
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{scheme}" is not supported. Scheme must be one of {allowed!r}.',
        )
        return None
    if scheme == "attachment":
        name = text[len("attachment://") :]
        if attachment_names is None or name not in attachment_names:
            errors.add(path, "ATTACHMENT_NOT_FOUND", f'Attachment "{name}" is not part of this message.')
            return None
    return text


def timestamp(errors: FormErrors, path: Path, value: Any) -> str | None:
    text = string(errors, path, value)
    if text is None:
        return None
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        errors.add(path, "DATE_TYPE_PARSE", f'Could not parse "{text}". Should be ISO8601.')
        return None
    return text
