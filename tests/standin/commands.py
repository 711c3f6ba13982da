"""Application commands: schema validation, the registry, and typed invocation options."""

from __future__ import annotations

import mimetypes
import unicodedata
from dataclasses import dataclass
from typing import Any

from . import checks
from .checks import Path
from .errors import DiscordHTTPError, FormErrors, StandInUsageError
from .state import Attachment, Channel, Guild, Role, User, World

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)
OPTION_TYPE_NAMES = {
    1: "SUB_COMMAND",
    2: "SUB_COMMAND_GROUP",
    3: "STRING",
    4: "INTEGER",
    5: "BOOLEAN",
    6: "USER",
    7: "CHANNEL",
    8: "ROLE",
    9: "MENTIONABLE",
    10: "NUMBER",
    11: "ATTACHMENT",
}
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
MAX_SAFE = 2**53
COMMAND_LIMITS = {CHAT_INPUT: 100, USER_COMMAND: 15, MESSAGE_COMMAND: 15}
COMMAND_SIZE_MAX = 8000


def _in_script_ranges(char: str) -> bool:
    """Devanagari and Thai code points (\\p{sc=Deva}, \\p{sc=Thai}); they include combining marks."""
    point = ord(char)
    return (
        0x0900 <= point <= 0x097F
        or 0xA8E0 <= point <= 0xA8FF
        or 0x11B00 <= point <= 0x11B5F
        or 0x0E01 <= point <= 0x0E5B
    )


def valid_chat_input_name(name: str) -> bool:
    """``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$`` plus the lowercase rule."""
    if not 1 <= len(name) <= 32:
        return False
    for char in name:
        allowed = char in "-_'" or unicodedata.category(char)[0] in "LN" or _in_script_ranges(char)
        if not allowed or char.lower() != char:
            return False
    return True


# -- schema validation ---------------------------------------------------------------------------


def validate_command(form: FormErrors, path: Path, raw: Any) -> dict[str, Any] | None:
    """Validate one application command definition; returns its normalized form."""
    command = checks.dictionary(form, path, raw)
    if command is None:
        if raw is None:
            checks.required(form, path)
        return None
    raw_type = command.get("type")
    command_type = checks.choice(
        form, (*path, "type"), CHAT_INPUT if raw_type is None else raw_type, (1, 2, 3)
    )
    if command_type is None:
        return None
    name = command.get("name")
    if name is None:
        checks.required(form, (*path, "name"))
    elif command_type == CHAT_INPUT:
        _chat_input_name(form, (*path, "name"), name)
    else:
        checks.string(form, (*path, "name"), name, min_len=1, max_len=32)
    _localizations(
        form, (*path, "name_localizations"), command.get("name_localizations"), command_type, is_name=True
    )
    description = command.get("description")
    if command_type == CHAT_INPUT:
        checks.required_string(form, (*path, "description"), description, max_len=100)
    elif description not in (None, ""):
        form.add(
            (*path, "description"),
            "APPLICATION_COMMAND_DESCRIPTION_INVALID",
            "Context menu commands cannot have a description",
        )
    _localizations(
        form,
        (*path, "description_localizations"),
        command.get("description_localizations"),
        command_type,
        is_name=False,
    )
    permissions = command.get("default_member_permissions")
    if permissions is not None and not (isinstance(permissions, str | int) and str(permissions).isdigit()):
        form.add(
            (*path, "default_member_permissions"), "NUMBER_TYPE_COERCE", f'Value "{permissions}" is not int.'
        )
    for key in ("dm_permission", "nsfw", "default_permission"):
        checks.boolean(form, (*path, key), command.get(key))
    for key, allowed in (("contexts", (0, 1, 2)), ("integration_types", (0, 1))):
        values = checks.array(form, (*path, key), command.get(key))
        for index, value in enumerate(values or []):
            checks.choice(form, (*path, key, index), value, allowed)
    options = command.get("options")
    if options is not None and command_type != CHAT_INPUT:
        form.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTIONS_INVALID",
            "Only chat input commands can have options",
        )
    elif options is not None:
        _options(form, (*path, "options"), options, depth=0)
    if not form and command_type == CHAT_INPUT and _command_size(command) > COMMAND_SIZE_MAX:
        form.add(path, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({COMMAND_SIZE_MAX})")
    return {**command, "type": command_type}


def _chat_input_name(form: FormErrors, path: Path, name: Any) -> None:
    text = checks.string(form, path, name, min_len=1, max_len=32)
    if text is not None and not valid_chat_input_name(text):
        form.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _localizations(form: FormErrors, path: Path, value: Any, command_type: int, *, is_name: bool) -> None:
    mapping = checks.dictionary(form, path, value)
    for locale, text in (mapping or {}).items():
        if is_name and command_type == CHAT_INPUT:
            _chat_input_name(form, (*path, locale), text)
        else:
            checks.string(form, (*path, locale), text, min_len=1, max_len=32 if is_name else 100)


def _options(form: FormErrors, path: Path, raw: Any, *, depth: int) -> None:
    options = checks.array(form, path, raw, max_len=25)
    if options is None:
        return
    names: set[str] = set()
    seen_optional = False
    kinds: set[bool] = set()
    for index, raw_option in enumerate(options):
        option_path = (*path, index)
        option = checks.dictionary(form, option_path, raw_option)
        if option is None:
            continue
        option_type = option.get("type")
        if option_type is None:
            checks.required(form, (*option_path, "type"))
            continue
        if checks.choice(form, (*option_path, "type"), option_type, tuple(range(1, 12))) is None:
            continue
        is_sub = option_type in (SUB_COMMAND, SUB_COMMAND_GROUP)
        kinds.add(is_sub)
        if option.get("name") is None:
            checks.required(form, (*option_path, "name"))
        else:
            _chat_input_name(form, (*option_path, "name"), option.get("name"))
            if option.get("name") in names:
                form.add(
                    (*option_path, "name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            names.add(option.get("name"))
        checks.required_string(form, (*option_path, "description"), option.get("description"), max_len=100)
        if depth == 1 and option_type == SUB_COMMAND_GROUP:
            form.add(
                (*option_path, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command groups cannot be nested",
            )
        if depth == 2 and is_sub:
            form.add(
                (*option_path, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-commands cannot be nested this deep",
            )
        if is_sub:
            if option.get("options") is not None:
                _options(form, (*option_path, "options"), option.get("options"), depth=depth + 1)
                if option_type == SUB_COMMAND_GROUP:
                    for child_index, child in enumerate(option.get("options") or []):
                        if isinstance(child, dict) and child.get("type") != SUB_COMMAND:
                            form.add(
                                (*option_path, "options", child_index, "type"),
                                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                                "Sub-command groups may only contain sub-commands",
                            )
            continue
        is_required = bool(checks.boolean(form, (*option_path, "required"), option.get("required")))
        if is_required and seen_optional:
            form.add(
                option_path,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        seen_optional = seen_optional or not is_required
        _option_constraints(form, option_path, option, option_type)
    if len(kinds) > 1:
        form.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        )


def _option_constraints(form: FormErrors, path: Path, option: dict[str, Any], option_type: int) -> None:
    numeric = option_type in (INTEGER, NUMBER)
    choices = option.get("choices")
    if choices is not None:
        if option_type not in (STRING, INTEGER, NUMBER):
            form.add(
                (*path, "choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Choices are only valid for STRING, INTEGER and NUMBER",
            )
        for index, raw in enumerate(checks.array(form, (*path, "choices"), choices, max_len=25) or []):
            choice_path = (*path, "choices", index)
            item = checks.dictionary(form, choice_path, raw)
            if item is None:
                continue
            checks.required_string(form, (*choice_path, "name"), item.get("name"), max_len=100)
            _typed_value(form, (*choice_path, "value"), item.get("value"), option_type)
    if option.get("autocomplete"):
        if option_type not in (STRING, INTEGER, NUMBER):
            form.add(
                (*path, "autocomplete"),
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
                "Autocomplete is only valid for STRING, INTEGER and NUMBER",
            )
        if choices:
            form.add(
                (*path, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_EXCLUSIVE",
                "Autocomplete cannot be enabled on options that have choices",
            )
    for key in ("min_value", "max_value"):
        if option.get(key) is None:
            continue
        if not numeric:
            form.add(
                (*path, key),
                "APPLICATION_COMMAND_OPTION_INVALID_FIELD",
                f"{key} is only valid for INTEGER and NUMBER",
            )
        else:
            _typed_value(form, (*path, key), option[key], option_type)
    low, high = option.get("min_value"), option.get("max_value")
    if numeric and isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        form.add((*path, "min_value"), "NUMBER_TYPE_MAX", "min_value must be less than or equal to max_value")
    for key, minimum in (("min_length", 0), ("max_length", 1)):
        if option.get(key) is None:
            continue
        if option_type != STRING:
            form.add(
                (*path, key), "APPLICATION_COMMAND_OPTION_INVALID_FIELD", f"{key} is only valid for STRING"
            )
        else:
            checks.integer(form, (*path, key), option[key], minimum=minimum, maximum=6000)
    if option.get("channel_types") is not None:
        if option_type != CHANNEL:
            form.add(
                (*path, "channel_types"),
                "APPLICATION_COMMAND_OPTION_INVALID_FIELD",
                "channel_types is only valid for CHANNEL",
            )
        for index, value in enumerate(
            checks.array(form, (*path, "channel_types"), option["channel_types"]) or []
        ):
            checks.integer(form, (*path, "channel_types", index), value, minimum=0)


def _typed_value(form: FormErrors, path: Path, value: Any, option_type: int) -> None:
    if value is None:
        checks.required(form, path)
    elif option_type == STRING:
        checks.string(form, path, value, max_len=100)
    elif option_type == INTEGER:
        checks.integer(form, path, value, minimum=-MAX_SAFE + 1, maximum=MAX_SAFE - 1)
    else:
        checks.number(form, path, value)


def _command_size(command: dict[str, Any]) -> int:
    size = len(str(command.get("name", ""))) + len(str(command.get("description", "")))
    for option in command.get("options") or []:
        if isinstance(option, dict):
            size += _command_size(option)
            for choice in option.get("choices") or []:
                if isinstance(choice, dict):
                    size += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return size


# -- registry -------------------------------------------------------------------------------


@dataclass
class RegisteredCommand:
    id: int
    application_id: int
    guild_id: int | None
    version: int
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def type(self) -> int:
        return self.definition.get("type", CHAT_INPUT)

    @property
    def options(self) -> list[dict[str, Any]]:
        return list(self.definition.get("options") or [])

    def to_payload(self) -> dict[str, Any]:
        definition = self.definition
        permissions = definition.get("default_member_permissions")
        payload: dict[str, Any] = {
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            "default_member_permissions": None if permissions is None else str(permissions),
            "type": self.type,
            "name": self.name,
            "description": definition.get("description") or "",
            "nsfw": bool(definition.get("nsfw", False)),
        }
        for key in ("name_localizations", "description_localizations"):
            if definition.get(key):
                payload[key] = definition[key]
        if self.options:
            payload["options"] = self.options
        if self.guild_id is None:
            payload["dm_permission"] = definition.get("dm_permission", True) is not False
            payload["contexts"] = definition.get("contexts")
            payload["integration_types"] = definition.get("integration_types") or [0]
        else:
            payload["guild_id"] = str(self.guild_id)
            payload["contexts"] = None
            payload["integration_types"] = [0]
        return payload


class CommandRegistry:
    """Commands per scope (``None`` is the global scope), keyed by ``(type, name)``."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._scopes: dict[int | None, dict[tuple[int, str], RegisteredCommand]] = {}

    def commands(self, guild_id: int | None) -> list[RegisteredCommand]:
        return list(self._scopes.get(guild_id, {}).values())

    def get(self, guild_id: int | None, command_id: int) -> RegisteredCommand | None:
        return next((c for c in self.commands(guild_id) if c.id == command_id), None)

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        scope = self._scopes.get(guild_id, {})
        for key, command in list(scope.items()):
            if command.id == command_id:
                del scope[key]
                return True
        return False

    def bulk_overwrite(self, guild_id: int | None, raw: Any) -> list[RegisteredCommand]:
        form = FormErrors()
        items = checks.array(form, (), raw)
        if raw is None:
            checks.required(form, ())
        form.raise_if_any()
        assert items is not None
        definitions = [validate_command(form, (index,), item) for index, item in enumerate(items)]
        seen: set[tuple[int, str]] = set()
        counts: dict[int, int] = {}
        for index, definition in enumerate(definitions):
            if definition is None or "name" not in definition:
                continue
            key = (definition["type"], definition["name"])
            if key in seen:
                form.add(
                    (index, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add(key)
            counts[key[0]] = counts.get(key[0], 0) + 1
        for command_type, count in counts.items():
            if count > COMMAND_LIMITS[command_type]:
                raise DiscordHTTPError(400, 30032, "Maximum number of application commands reached")
        form.raise_if_any()
        old = self._scopes.get(guild_id, {})
        scope: dict[tuple[int, str], RegisteredCommand] = {}
        for definition in definitions:
            assert definition is not None
            scope[(definition["type"], definition["name"])] = self._upsert(old, guild_id, definition)
        self._scopes[guild_id] = scope
        return list(scope.values())

    def create(self, guild_id: int | None, raw: Any) -> tuple[RegisteredCommand, bool]:
        """Create or replace one command; returns it and whether it was new."""
        form = FormErrors()
        definition = validate_command(form, (), raw)
        form.raise_if_any()
        assert definition is not None
        scope = self._scopes.setdefault(guild_id, {})
        key = (definition["type"], definition["name"])
        created = key not in scope
        if created and sum(1 for k in scope if k[0] == key[0]) >= COMMAND_LIMITS[key[0]]:
            raise DiscordHTTPError(400, 30032, "Maximum number of application commands reached")
        scope[key] = self._upsert(scope, guild_id, definition)
        return scope[key], created

    def _upsert(
        self, old: dict[tuple[int, str], RegisteredCommand], guild_id: int | None, definition: dict[str, Any]
    ) -> RegisteredCommand:
        clean = {k: v for k, v in definition.items() if k != "id"}
        previous = old.get((clean["type"], clean["name"]))
        if previous is not None:
            version = previous.version if previous.definition == clean else self._world.snowflakes.next()
            return RegisteredCommand(previous.id, previous.application_id, guild_id, version, clean)
        command_id = self._world.snowflakes.next()
        return RegisteredCommand(command_id, self._world.application_id, guild_id, command_id, clean)

    def resolve(
        self, name: str, guild_id: int | None, command_type: int = CHAT_INPUT
    ) -> RegisteredCommand | None:
        """The command a user would pick: guild scope first, then global."""
        if guild_id is not None:
            command = self._scopes.get(guild_id, {}).get((command_type, name))
            if command is not None:
                return command
        return self._scopes.get(None, {}).get((command_type, name))


# -- invocation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileOption:
    """A file a test user attaches to an ATTACHMENT option."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class InvocationContext:
    world: World
    guild: Guild | None
    channel: Channel


def build_invocation(
    command: RegisteredCommand,
    options: dict[str, Any] | list[dict[str, Any]] | None,
    subcommand: str | None,
    context: InvocationContext,
    *,
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Typed ``data.options`` plus ``data.resolved`` for an invocation (or an autocomplete)."""
    schema = command.options
    chain: list[dict[str, Any]] = []
    has_subcommands = any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema)
    if subcommand:
        if not has_subcommands:
            raise StandInUsageError(f"/{command.name} has no sub-commands, got {subcommand!r}")
        for part in subcommand.split():
            found = next((o for o in schema if o.get("name") == part and o.get("type") in (1, 2)), None)
            if found is None:
                raise StandInUsageError(f"/{command.name} has no sub-command {subcommand!r}")
            chain.append(found)
            schema = list(found.get("options") or [])
        if chain[-1].get("type") != SUB_COMMAND:
            raise StandInUsageError(f"{subcommand!r} is a group; name one of its sub-commands")
    elif has_subcommands:
        raise StandInUsageError(f"/{command.name} needs a sub-command (pass subcommand=...)")

    resolved: dict[str, dict[str, Any]] = {}
    leaf = _leaf_options(command.name, schema, options, context, resolved, focused)
    for parent in reversed(chain):
        leaf = [{"name": parent["name"], "type": parent["type"], "options": leaf}]
    return leaf, {k: v for k, v in resolved.items() if v}


def _leaf_options(
    command_name: str,
    schema: list[dict[str, Any]],
    options: dict[str, Any] | list[dict[str, Any]] | None,
    context: InvocationContext,
    resolved: dict[str, dict[str, Any]],
    focused: str | None,
) -> list[dict[str, Any]]:
    by_name = {o["name"]: o for o in schema}
    if isinstance(options, list):
        pairs = []
        for raw in options:
            spec = by_name.get(raw.get("name"))
            if spec is None:
                raise StandInUsageError(
                    f"/{command_name} has no option {raw.get('name')!r}; known: {sorted(by_name)}"
                )
            if raw.get("type") != spec["type"]:
                expected = OPTION_TYPE_NAMES[spec["type"]]
                raise StandInUsageError(
                    f"option {spec['name']!r} is {expected}, payload says type {raw.get('type')!r}"
                )
            pairs.append((spec["name"], raw.get("value")))
    else:
        pairs = list((options or {}).items())
    out: list[dict[str, Any]] = []
    given = set()
    for name, value in pairs:
        spec = by_name.get(name)
        if spec is None:
            raise StandInUsageError(f"/{command_name} has no option {name!r}; known: {sorted(by_name)}")
        given.add(name)
        is_focused = name == focused
        if is_focused and not spec.get("autocomplete"):
            raise StandInUsageError(f"option {name!r} of /{command_name} does not have autocomplete enabled")
        entry = {
            "name": name,
            "type": spec["type"],
            "value": _convert(spec, value, context, resolved, partial=focused is not None),
        }
        if is_focused:
            entry["focused"] = True
        out.append(entry)
    if focused is not None:
        if focused not in given:
            raise StandInUsageError(f"the focused option {focused!r} must be among the options")
        return out
    missing = [o["name"] for o in schema if o.get("required") and o["name"] not in given]
    if missing:
        raise StandInUsageError(f"/{command_name} is missing required option(s) {missing}")
    return out


def _convert(
    spec: dict[str, Any],
    value: Any,
    context: InvocationContext,
    resolved: dict[str, dict[str, Any]],
    *,
    partial: bool,
) -> Any:
    option_type, name = spec["type"], spec["name"]
    kind = OPTION_TYPE_NAMES[option_type]

    def fail(reason: str) -> StandInUsageError:
        return StandInUsageError(f"option {name!r} ({kind}): {reason}")

    if option_type == STRING:
        if not isinstance(value, str):
            raise fail(f"expected str, got {type(value).__name__}")
        if not partial:
            low, high = spec.get("min_length", 0), spec.get("max_length", 6000)
            if not low <= len(value) <= high:
                raise fail(f"length {len(value)} is outside {low}..{high}")
            _check_choice(spec, value, fail)
        return value
    if option_type in (INTEGER, NUMBER):
        if isinstance(value, bool) or not isinstance(value, int if option_type == INTEGER else int | float):
            raise fail(f"expected a number, got {value!r}")
        if not -MAX_SAFE < value < MAX_SAFE:
            raise fail("value is outside the safe integer range")
        if not partial:
            if spec.get("min_value") is not None and value < spec["min_value"]:
                raise fail(f"{value} < min_value {spec['min_value']}")
            if spec.get("max_value") is not None and value > spec["max_value"]:
                raise fail(f"{value} > max_value {spec['max_value']}")
            _check_choice(spec, value, fail)
        return value
    if option_type == BOOLEAN:
        if not isinstance(value, bool):
            raise fail(f"expected bool, got {value!r}")
        return value
    if option_type == USER:
        return str(_resolve_user(value, context, resolved, fail).id)
    if option_type == ROLE:
        return str(_resolve_role(value, context, resolved, fail).id)
    if option_type == MENTIONABLE:
        if isinstance(value, Role) or (
            isinstance(value, int) and context.guild and value in context.guild.roles
        ):
            return str(_resolve_role(value, context, resolved, fail).id)
        return str(_resolve_user(value, context, resolved, fail).id)
    if option_type == CHANNEL:
        return str(_resolve_channel(spec, value, context, resolved, fail).id)
    if option_type == ATTACHMENT:
        return str(_resolve_attachment(value, context, resolved, fail).id)
    raise fail("unsupported option type")


def _check_choice(spec: dict[str, Any], value: Any, fail: Any) -> None:
    choices = spec.get("choices")
    if choices and value not in [c.get("value") for c in choices]:
        raise fail(f"{value!r} is not one of the choices {[c.get('value') for c in choices]}")


def _resolve_user(
    value: Any, context: InvocationContext, resolved: dict[str, dict[str, Any]], fail: Any
) -> User:
    user = (
        value
        if isinstance(value, User)
        else context.world.users.get(value)
        if isinstance(value, int)
        else None
    )
    if user is None:
        raise fail(f"unknown user {value!r}")
    resolved.setdefault("users", {})[str(user.id)] = user.to_payload()
    member = context.guild.members.get(user.id) if context.guild else None
    if member is not None:
        payload = context.world.member_payload(member, with_user=False, channel=context.channel)
        resolved.setdefault("members", {})[str(user.id)] = payload
    return user


def _resolve_role(
    value: Any, context: InvocationContext, resolved: dict[str, dict[str, Any]], fail: Any
) -> Role:
    guild = context.guild
    role_id = value.id if isinstance(value, Role) else value
    role = guild.roles.get(role_id) if guild else None
    if role is None:
        raise fail(f"unknown role {value!r} in this guild")
    resolved.setdefault("roles", {})[str(role.id)] = role.to_payload()
    return role


def _resolve_channel(
    spec: dict[str, Any],
    value: Any,
    context: InvocationContext,
    resolved: dict[str, dict[str, Any]],
    fail: Any,
) -> Channel:
    channel_id = value.id if isinstance(value, Channel) else value
    channel = context.world.channels.get(channel_id)
    if (
        channel is None
        or channel.deleted
        or channel.guild_id != (context.guild.id if context.guild else None)
    ):
        raise fail(f"unknown channel {value!r} in this guild")
    allowed = spec.get("channel_types")
    if allowed and int(channel.type) not in allowed:
        raise fail(f"channel type {int(channel.type)} is not in channel_types {allowed}")
    payload = context.world.channel_payload(channel)
    partial = {
        k: payload[k]
        for k in ("id", "name", "type", "guild_id", "parent_id", "nsfw", "position", "flags")
        if k in payload
    }
    partial["permissions"] = str(context.world.permissions_for(channel, context.world.bot.id))
    resolved.setdefault("channels", {})[str(channel.id)] = partial
    return channel


def _resolve_attachment(
    value: Any, context: InvocationContext, resolved: dict[str, dict[str, Any]], fail: Any
) -> Attachment:
    if isinstance(value, tuple) and len(value) in (2, 3):
        value = FileOption(*value)
    if not isinstance(value, FileOption):
        raise fail("pass FileOption(filename, data) or a (filename, data) tuple")
    content_type = value.content_type or mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
    world = context.world
    attachment = Attachment(
        id=world.snowflakes.next(),
        channel_id=context.channel.id,
        filename=value.filename,
        content_type=content_type,
        data=value.data,
    )
    world.attachments[attachment.id] = attachment
    payload = attachment.to_payload(world.base_url)
    payload["ephemeral"] = True
    resolved.setdefault("attachments", {})[str(attachment.id)] = payload
    return attachment
