"""Read one preset file: TOML text in, checked preset definitions (with line numbers) out."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import PresetError, PresetSyntaxError, PresetValidationError
from .schema import (
    FIELDS,
    RESERVED_KEYS,
    check_field_value,
    check_reserved_value,
    unknown_key_error,
)

__all__ = ["PresetDef", "PresetFile", "parse_preset_file", "parse_preset_text"]


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


@dataclass
class PresetFile:
    """The presets of one file, in file order."""

    path: str
    presets: list[PresetDef]


_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_KEY = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[.=]""")


def parse_preset_file(path: str | Path) -> PresetFile:
    """Read and check the preset file at ``path``.

    Raises :class:`PresetSyntaxError` for a file that cannot be read as a
    preset file at all. Problems inside one preset table are kept on that
    :class:`PresetDef` instead, so one bad preset does not hide the others.
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PresetSyntaxError(
            f"cannot read preset file: {exc.strerror or exc}", file=name
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PresetSyntaxError("not valid UTF-8", file=name, line=line) from None
    return parse_preset_text(text, name)


def parse_preset_text(text: str, file: str) -> PresetFile:
    """Parse preset-file ``text``; ``file`` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
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
        raise PresetSyntaxError(message, file=file, line=line, col=col) from None

    headers, key_lines, top_keys = _scan_lines(text)
    presets = []
    seen: dict[str, str] = {}
    for preset_name, table in doc.items():
        if isinstance(table, list) and preset_name in headers:
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
        header_line = headers.get(preset_name, 1)
        if not preset_name.strip() or preset_name != preset_name.strip():
            raise PresetSyntaxError(
                f"invalid preset name {preset_name!r}: empty or padded with spaces",
                file=file,
                line=header_line,
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
        presets.append(
            _read_table(preset_name, table, file, header_line, key_lines.get(preset_name, {}))
        )
    return PresetFile(file, presets)


def _read_table(
    name: str,
    table: dict[str, Any],
    file: str,
    header_line: int,
    key_lines: dict[str, tuple[int, int]],
) -> PresetDef:
    pdef = PresetDef(name=name, file=file, line=header_line, key_lines=key_lines)
    for key, value in table.items():
        try:
            if key in RESERVED_KEYS:
                checked = check_reserved_value(key, value)
                if key == "extends":
                    pdef.extends = checked
                elif key == "aliases":
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


def _scan_lines(
    text: str,
) -> tuple[dict[str, int], dict[str, dict[str, tuple[int, int]]], dict[str, tuple[int, int]]]:
    """Find where each preset header and each key starts (1-based line, column).

    tomllib reports no positions, so this light scan of the (already valid)
    text recovers them for error messages and ``explain``. It tracks
    multi-line strings so their contents are not mistaken for keys.
    """
    headers: dict[str, int] = {}
    keys: dict[str, dict[str, tuple[int, int]]] = {}
    top: dict[str, tuple[int, int]] = {}
    current: tuple[str, ...] = ()
    in_string: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        stripped = line.strip()
        if stripped.startswith("["):
            path = _header_path(stripped)
            if path:
                current = path
                if len(path) == 1:
                    headers.setdefault(path[0], lineno)
                else:
                    keys.setdefault(path[0], {}).setdefault(path[1], (lineno, 1))
            continue
        match = _KEY.match(line)
        if match:
            key = next(g for g in match.groups() if g is not None)
            col = len(line) - len(line.lstrip()) + 1
            if not current:
                top.setdefault(key, (lineno, col))
            elif len(current) == 1:
                keys.setdefault(current[0], {}).setdefault(key, (lineno, col))
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_string = quote
                break
    return headers, keys, top


_SIMPLE_HEADER = re.compile(r'\[\s*(?:"([^"\\]*)"|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?')


def _header_path(stripped: str) -> tuple[str, ...]:
    simple = _SIMPLE_HEADER.fullmatch(stripped)
    if simple:
        return (simple.group(1) if simple.group(1) is not None else simple.group(2),)
    # Anything fancier: let tomllib read it, so quoting and dotted names are exact.
    try:
        doc: Any = tomllib.loads(stripped)
    except tomllib.TOMLDecodeError:
        return ()
    path: list[str] = []
    while isinstance(doc, dict) and len(doc) == 1:
        key = next(iter(doc))
        path.append(key)
        doc = doc[key]
        if isinstance(doc, list):  # [[array.of.tables]]
            doc = doc[-1] if doc else {}
    return tuple(path)
