"""A preset as the text of a preset file: TOML that loads back to the same values."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["preset_toml"]


def preset_toml(name: str, table: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """The text of a preset file holding one preset, ``name``, with ``table`` as its keys.

    ``comments`` become ``#`` lines at the top. Every character that could act
    on a terminal (a control character in a description, say) is written as
    an escape, which TOML reads back as the same character, so the text is
    safe to print and loads back to the same values.

    >>> print(preset_toml("tiny", {"extends": "gpt2", "description": "a\\u001bb"}, ["note"]))
    # note
    [tiny]
    extends = "gpt2"
    description = "a\\u001bb"
    <BLANKLINE>
    """
    import tomli_w

    head = "".join(f"# {_printable(c)}\n" for c in comments)
    return head + _escape_unprintable(tomli_w.dumps({name: dict(table)}))


def _printable(text: str) -> str:
    # A comment ends at a line break: everything unprintable in it is escaped.
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _escape_unprintable(toml: str) -> str:
    # tomli_w leaves characters TOML allows raw (C1 controls, line separators) as they
    # are. Names are printable and comments are cleaned, so such characters can only be
    # inside basic strings, where a \uXXXX escape means the same.
    if toml.replace("\n", "").isprintable():
        return toml
    out = []
    for c in toml:
        if c == "\n" or c.isprintable():
            out.append(c)
        elif ord(c) > 0xFFFF:
            out.append(f"\\U{ord(c):08x}")
        else:
            out.append(f"\\u{ord(c):04x}")
    return "".join(out)
