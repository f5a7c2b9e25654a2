"""Read one preset file: TOML text in, checked preset definitions (with line numbers) out."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.fileio import MAX_PRESET_FILE_BYTES, FileTooLarge, read_regular
from ..errors import PresetError, PresetSyntaxError, PresetValidationError
from ..fields.keys import (
    FIELDS,
    RESERVED_KEYS,
    check_field_value,
    check_reserved_value,
    unknown_key_error,
)
from ._tomlscan import MAX_KEY_PARTS, Defused, defuse, scan

__all__ = [
    "MAX_FILE_BYTES",
    "PresetDef",
    "PresetFile",
    "name_problem",
    "parse_preset_file",
    "parse_preset_text",
]


@dataclass
class PresetDef:
    """One preset table as written in a file, checked key by key.

    ``values`` holds the config fields the table sets; ``error`` is the first
    problem found in the table (the preset cannot be loaded, but the rest of
    the file can), and ``key_errors`` every key the table got wrong (for
    ``validate``, which reports them all).
    """

    name: str
    file: str
    line: int
    level: int = 3
    values: dict[str, Any] = field(default_factory=dict)
    extends: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    abstract: bool = False
    description: str | None = None
    unset: list[str] = field(default_factory=list)
    none: list[str] = field(default_factory=list)
    checkpoints: dict[str, Any] | None = None
    key_lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    error: PresetError | None = None
    key_errors: list[PresetError] = field(default_factory=list)

    def where(self, key: str | None) -> tuple[int, int | None]:
        """The (line, column) of ``key`` in this preset's table, or of its header."""
        if key is not None and key in self.key_lines:
            return self.key_lines[key]
        return self.line, None

    def error_at(
        self,
        reason: str,
        key: str | None = None,
        cls: type[PresetError] = PresetError,
        *,
        column: bool = False,
    ) -> PresetError:
        """A ``cls`` error about ``key`` of this preset (its header without one), naming
        the file, the preset and the key's line (and column, with ``column``).

        >>> PresetDef("tiny", "my.toml", 3).error_at("must not be empty", "aliases")
        PresetError("my.toml:3: preset 'tiny', key 'aliases': must not be empty")
        """
        line, col = self.where(key)
        return cls(
            reason,
            file=self.file,
            preset=self.name,
            key=key,
            line=line,
            col=col if column else None,
        )


@dataclass
class PresetFile:
    """The presets of one file, in file order."""

    path: str
    presets: list[PresetDef]


_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")

#: The largest preset file read, in bytes (the biggest bundled file is about 12 KiB).
MAX_FILE_BYTES = MAX_PRESET_FILE_BYTES


def parse_preset_file(path: str | Path) -> PresetFile:
    """Read and check the preset file at ``path``.

    Raises :class:`PresetSyntaxError` for a file that cannot be read as a
    preset file at all: unreadable, not a regular file, larger than
    :data:`MAX_FILE_BYTES`, not UTF-8 or not TOML. Problems inside one preset
    table are kept on that :class:`PresetDef` instead, so one bad preset does
    not hide the others.
    """
    name = str(path)
    try:
        data = read_regular(os.fspath(path), MAX_FILE_BYTES)
    except FileTooLarge:
        raise PresetSyntaxError(
            f"is larger than {MAX_FILE_BYTES // 1024} KiB, the limit for a preset file",
            file=name,
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PresetSyntaxError(f"cannot read preset file: {reason}", file=name) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PresetSyntaxError("not valid UTF-8", file=name, line=line) from None
    return parse_preset_text(text, name)


def parse_preset_text(text: str, file: str) -> PresetFile:
    """Parse preset-file ``text``; ``file`` names it in errors.

    A leading byte-order mark, which some editors write, is ignored.
    """
    text = text.removeprefix("\ufeff")
    found = scan(text)
    if found.long_key is not None:
        raise PresetSyntaxError(
            f"a dotted key of more than {MAX_KEY_PARTS} parts (no preset nests tables that deep)",
            file=file,
            line=found.long_key[0],
            col=found.long_key[1],
        )
    defused: list[Defused] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, file) from None
    except (ValueError, RecursionError) as exc:
        # An integer too long for int() or arrays nested past the recursion
        # limit: blank those values out, so that only their presets fail.
        patched, defused = defuse(text)
        try:
            if not defused:
                raise exc
            doc = tomllib.loads(patched)
        except tomllib.TOMLDecodeError as again:
            # A syntax error after the defused values: the patched text keeps
            # every line and column, so the position is the original's.
            raise _syntax_error(again, patched, file) from None
        except (ValueError, RecursionError) as again:
            raise PresetSyntaxError(
                f"cannot be read as TOML ({type(again).__name__}: {again})", file=file
            ) from None

    headers, key_lines, top_keys = found.headers, found.keys, found.top
    presets = []
    seen: dict[str, str] = {}
    for preset_name, table in doc.items():
        if isinstance(table, list) and preset_name in found.array_tables:
            raise PresetSyntaxError(
                f"[[{preset_name}]] is an array of tables; a preset is one table: "
                f"write [{preset_name}]",
                file=file,
                key=preset_name,
                line=headers[preset_name],
                col=1,
            )
        if not isinstance(table, dict):
            line, col = top_keys.get(preset_name, (None, None))
            raise PresetSyntaxError(
                "a key outside any preset table; start a preset with a [name] header",
                file=file,
                key=preset_name,
                line=line,
                col=col,
            )
        header_line = headers.get(preset_name)
        if header_line is None:  # defined by dotted keys only: name.key = value
            header_line = min((ln for ln, _ in key_lines.get(preset_name, {}).values()), default=1)
        problem = name_problem(preset_name)
        if problem:
            raise PresetSyntaxError(
                f"invalid preset name {preset_name!r}: {problem}", file=file, line=header_line
            )
        folded = preset_name.casefold()
        if folded in seen:
            raise PresetSyntaxError(
                f"is defined twice in this file (also as {seen[folded]!r}; "
                "names are case-insensitive)",
                file=file,
                preset=preset_name,
                line=header_line,
            )
        seen[folded] = preset_name
        bad = {d.path[1]: d for d in defused if len(d.path) > 1 and d.path[0] == preset_name}
        presets.append(
            _read_table(preset_name, table, file, header_line, key_lines.get(preset_name, {}), bad)
        )
    return PresetFile(file, presets)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a preset or be an alias, or None if it can.

    Names are printed in tables and written back as TOML keys, so they may not
    be empty, start or end with blanks, or hold control or other invisible
    characters (a newline would split a row of ``list``; an escape sequence
    would reach the terminal).

    >>> name_problem("gpt2-small"), name_problem(" gpt2"), name_problem("a\\tb")
    (None, 'starts or ends with blanks', 'holds a control or invisible character')
    """
    if not name:
        return "empty"
    if name != name.strip():
        return "starts or ends with blanks"
    if not name.isprintable():
        return "holds a control or invisible character"
    return None


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, file: str) -> PresetSyntaxError:
    message = str(exc)
    match = _POSITION.search(message)
    line = col = None
    if match:
        line, col = int(match.group(1)), int(match.group(2))
        message = message[: match.start()].rstrip()
    elif "end of document" in message:
        line = text.count("\n") + 1
        col = len(text) - (text.rfind("\n") + 1) + 1
        message = message.replace("(at end of document)", "").rstrip() + " at end of file"
    return PresetSyntaxError(message, file=file, line=line, col=col)


def _read_table(
    name: str,
    table: dict[str, Any],
    file: str,
    header_line: int,
    key_lines: dict[str, tuple[int, int]],
    defused: dict[str, Defused],
) -> PresetDef:
    pdef = PresetDef(name=name, file=file, line=header_line, key_lines=key_lines)
    for key, value in table.items():
        try:
            if key in defused:
                raise PresetValidationError(f"cannot be read: {defused[key].reason}")
            if key in RESERVED_KEYS:
                checked = check_reserved_value(key, value)
                if key == "extends":
                    pdef.extends = checked
                elif key == "aliases":
                    for alias in checked:
                        problem = name_problem(alias)
                        if problem:
                            raise PresetValidationError(f"invalid alias {alias!r}: {problem}")
                    pdef.aliases = checked
                elif key == "abstract":
                    pdef.abstract = checked
                elif key == "description":
                    pdef.description = checked
                elif key == "unset":
                    pdef.unset = checked
                elif key == "none":
                    pdef.none = checked
                else:
                    pdef.checkpoints = checked
            elif key in FIELDS:
                pdef.values[key] = check_field_value(key, value)
            else:
                raise unknown_key_error(key)
        except PresetError as exc:
            line, col = pdef.where(key)
            error = exc.with_context(file=file, preset=name, key=key, line=line, col=col)
            if key == "aliases":
                # Without its aliases we cannot tell which names this preset
                # claims, so no lookup in this file can be trusted.
                raise PresetSyntaxError(
                    error.reason, file=file, preset=name, key=key, line=line, col=col
                ) from None
            pdef.key_errors.append(error)
            if pdef.error is None:
                pdef.error = error
    both = [key for key in pdef.none if key in pdef.values]
    if both and pdef.error is None:
        line, col = pdef.where(both[0])
        pdef.error = PresetValidationError(
            "is both listed in 'none' and given a value; keep one",
            file=file,
            preset=name,
            key=both[0],
            line=line,
            col=col,
        )
    return pdef
