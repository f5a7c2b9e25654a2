"""Where things are in a TOML text: table headers, keys, and values tomllib cannot read.

tomllib returns data without positions. Error messages and ``explain`` need the
line and column of each preset's header and of each key in it, so this module
scans the text once more with a small tokenizer that knows TOML's four kinds
of string, comments, arrays and inline tables (a ``'''`` inside a comment or a
``[x]`` inside a multi-line string is not a header). It works without
recursion, so no nesting depth can exhaust the stack.

It also finds the values tomllib itself cannot take, so that one such value
fails only its own preset instead of the whole file: an integer literal with
more digits than Python converts (``ValueError`` from ``int()``), and arrays
or inline tables nested deeper than :data:`MAX_NESTING` (tomllib recurses and
would raise ``RecursionError``). :func:`defuse` blanks those values out and
says where they were.

The scan trusts that the text is TOML; on text that is not, it stops early
and returns what it found, never raising and never looping.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

__all__ = ["MAX_KEY_PARTS", "MAX_NESTING", "Defused", "Positions", "defuse", "scan"]

#: Arrays and inline tables nested deeper than this are refused (a real preset needs 3).
MAX_NESTING = 32
#: Keys of more dotted parts than this are refused before tomllib reads the text: it
#: takes time quadratic in a key's parts (a 1 MiB file of one key would take hours).
MAX_KEY_PARTS = 32
# Python's limit for converting a decimal string to int (sys.int_info.default_max_str_digits).
_MAX_INT_DIGITS = 4300

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t]+)
  | (?P<nl>\r?\n)
  | (?P<comment>\#[^\n]*)
  | (?P<mlb>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"{3,5})
  | (?P<mll>'''(?:[^']|'(?!''))*'{3,5})
  | (?P<basic>"(?:[^"\\\n]|\\.)*")
  | (?P<literal>'[^'\n]*')
  | (?P<punct>[\[\]{}=,.])
  | (?P<bare>[^\s\[\]{}=,.\#"']+)
    """,
    re.VERBOSE | re.DOTALL,
)
# In values a bare run may contain dots (1.5, 1979-05-27T07:32:00.5Z).
_VALUE_BARE = re.compile(r"""[^\s\[\]{},\#"'=]+""")
_DECIMAL = re.compile(r"[+-]?[0-9_]+")

# Most lines of a preset file are one of these two shapes; matching a whole
# line at once makes the scan about three times faster. Anything else (and
# any line long enough to hold an oversized integer) takes the general path.
_SIMPLE_KEY = r"""(?:"(?P<qk>[^"\\\n]*)"|(?P<bk>[A-Za-z0-9_-]+))"""
_SIMPLE_SCALAR = r"""(?:"[^"\\\n]*"|'[^'\n]*'|[^\s\[\]{},\#"'=]+)"""
_SIMPLE_LINE = re.compile(
    rf"""[ \t]*{_SIMPLE_KEY}[ \t]*=[ \t]*
    (?:{_SIMPLE_SCALAR}|\[(?:[ \t]*{_SIMPLE_SCALAR}[ \t]*,)*(?:[ \t]*{_SIMPLE_SCALAR})?[ \t]*\])
    [ \t]*(?:\#[^\n]*)?(?:\n|$)""",
    re.VERBOSE,
)
_SIMPLE_HEADER = re.compile(
    rf"""\[[ \t]*{_SIMPLE_KEY}[ \t]*\][ \t]*(?:\#[^\n]*)?(?:\n|$)""", re.VERBOSE
)
_FAST_LIMIT = 4000  # shorter than any integer tomllib refuses


@dataclass
class Positions:
    """What :func:`scan` found; lines and columns are 1-based."""

    #: preset name -> line of its first ``[name]`` (or ``[[name]]``) header.
    headers: dict[str, int] = field(default_factory=dict)
    #: preset name -> key -> (line, col) of the key's first appearance in it.
    keys: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    #: keys written outside any table -> (line, col).
    top: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: names written as ``[[name]]``.
    array_tables: set[str] = field(default_factory=set)
    #: (line, col) of the first key of more than :data:`MAX_KEY_PARTS` parts, if any.
    long_key: tuple[int, int] | None = None


@dataclass
class Defused:
    """A value :func:`defuse` replaced: where it was, whose it was, and why."""

    line: int
    col: int
    path: tuple[str, ...]
    reason: str


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def _key_text(kind: str, token: str) -> str:
    if kind == "bare":
        return token
    if kind == "literal":
        return token[1:-1]
    if "\\" not in token:
        return token[1:-1]
    import tomllib

    try:
        value = tomllib.loads(f"k = {token}")["k"]
    except (tomllib.TOMLDecodeError, ValueError):  # pragma: no cover - valid text only
        return token[1:-1]
    return str(value)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines = _Lines(text)
        self.found = Positions()
        self.spans: list[tuple[int, int, tuple[str, ...], str]] = []
        self.table: tuple[str, ...] = ()

    def token(self) -> tuple[str, str] | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        return kind, match.group()

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def key_path(self) -> list[tuple[str, int]] | None:
        """A dotted key at the cursor: its parts with their start offsets."""
        parts = []
        while True:
            self.skip_ws()
            start = self.pos
            tok = self.token()
            if tok is None or tok[0] not in ("bare", "basic", "literal"):
                return None
            parts.append((_key_text(*tok), start))
            self.skip_ws()
            if self.text.startswith(".", self.pos):
                self.pos += 1
                continue
            if len(parts) > MAX_KEY_PARTS and self.found.long_key is None:
                self.found.long_key = self.lines.at(parts[0][1])
            return parts

    def run(self) -> None:
        text = self.text
        while self.pos < len(text):
            self.skip_ws()
            if self.pos >= len(text):
                return
            ch = text[self.pos]
            if ch in "\r\n#":
                # A lone carriage return is no token: stop there, as tomllib will.
                if self.token() is None:
                    return
                continue
            if self.fast(ch):
                continue
            if ch == "[":
                if not self.header():
                    return
                continue
            if not self.key_value():
                return

    def fast(self, ch: str) -> bool:
        """Take a whole simple line at once; False to use the general path."""
        pattern = _SIMPLE_HEADER if ch == "[" else _SIMPLE_LINE
        match = pattern.match(self.text, self.pos)
        if match is None or match.end() - self.pos > _FAST_LIMIT:
            return False
        key = match.group("qk")
        if key is None:
            key = match.group("bk")
        line, col = self.lines.at(self.pos)
        self.pos = match.end()
        if ch == "[":
            self.table = (key,)
            self.found.headers.setdefault(key, line)
        elif not self.table:
            self.found.top.setdefault(key, (line, col))
        elif len(self.table) == 1:
            self.found.keys.setdefault(self.table[0], {}).setdefault(key, (line, col))
        return True

    def header(self) -> bool:
        text = self.text
        start = self.pos
        double = text.startswith("[[", self.pos)
        self.pos += 2 if double else 1
        parts = self.key_path()
        if not parts:
            return False
        self.skip_ws()
        close = "]]" if double else "]"
        if not text.startswith(close, self.pos):
            return False
        self.pos += len(close)
        path = tuple(p for p, _ in parts)
        self.table = path
        line = self.lines.at(start)[0]
        if len(path) == 1:
            self.found.headers.setdefault(path[0], line)
            if double:
                self.found.array_tables.add(path[0])
        else:
            self.found.keys.setdefault(path[0], {}).setdefault(path[1], (line, 1))
        return self.rest_of_line()

    def rest_of_line(self) -> bool:
        self.skip_ws()
        if self.pos >= len(self.text):
            return True
        tok = self.token()
        if tok is None:
            return False
        if tok[0] == "comment":
            tok = self.token() if self.pos < len(self.text) else ("nl", "")
        return tok is not None and tok[0] == "nl"

    def key_value(self) -> bool:
        start = self.pos
        parts = self.key_path()
        if not parts:
            return False
        self.skip_ws()
        if not self.text.startswith("=", self.pos):
            return False
        self.pos += 1
        path = self.table + tuple(p for p, _ in parts)
        line, col = self.lines.at(start)
        if not self.table:
            if len(path) == 1:
                self.found.top.setdefault(path[0], (line, col))
            else:
                self.found.keys.setdefault(path[0], {}).setdefault(path[1], (line, col))
        elif len(self.table) == 1:
            self.found.keys.setdefault(path[0], {}).setdefault(path[1], (line, col))
        if not self.value(path[:2]):
            return False
        return self.rest_of_line()

    def value(self, owner: tuple[str, ...]) -> bool:
        """Skip one value (arrays and inline tables included), noting what tomllib cannot take."""
        text = self.text
        depth = 0
        deepest_start = -1
        first = -1
        while True:
            if depth == 0 and first >= 0:
                return True
            self.skip_ws()
            if self.pos >= len(text):
                return depth == 0 and first >= 0
            start = self.pos
            if first < 0:
                first = start
            ch = text[start]
            if ch in "[{":
                self.pos += 1
                depth += 1
                if depth > MAX_NESTING and deepest_start < 0:
                    deepest_start = start
                continue
            if ch in "]}":
                self.pos += 1
                depth -= 1
                if depth < 0:
                    return False
                if depth == MAX_NESTING and deepest_start >= 0:
                    self.spans.append(
                        (deepest_start, self.pos, owner, f"nested more than {MAX_NESTING} deep")
                    )
                    deepest_start = -1
                continue
            if depth > 0 and ch in ",=.":
                self.pos += 1
                continue
            if depth > 0 and ch in "#\r\n":
                if self.token() is None:
                    return False
                continue
            if ch in "\"'":
                if self.token() is None:
                    return False
                continue
            match = _VALUE_BARE.match(text, self.pos)
            if match is None:
                return False
            self.pos = match.end()
            word = match.group()
            if _DECIMAL.fullmatch(word):
                digits = sum(c.isdigit() for c in word)
                if digits > _MAX_INT_DIGITS and deepest_start < 0:
                    self.spans.append(
                        (start, self.pos, owner, f"integer with {digits} digits is too large")
                    )


def scan(text: str) -> Positions:
    """The headers and keys of a TOML text, with their lines and columns.

    Any text is scanned in time linear in its length: on invalid TOML the scan
    stops where the text stops making sense (tomllib then says where and why).

    >>> found = scan('# it\\'s \\'\\'\\'\\n["gpt2"]\\nextends = "x"  # a \\'\\'\\' here\\nn_layers = 2\\n')
    >>> found.headers["gpt2"], found.keys["gpt2"]["n_layers"]
    (2, (4, 1))
    """
    scanner = _Scanner(text)
    scanner.run()
    return scanner.found


def defuse(text: str) -> tuple[str, list[Defused]]:
    """``text`` with every value tomllib cannot take replaced by ``0``, and where each was.

    Lines and columns of everything else are unchanged (the replacement keeps
    the line breaks). A value's ``path`` is its table path and key, so the
    caller knows which preset and key it belonged to.

    >>> patched, found = defuse("[a]\\nn = " + "9" * 5000 + "\\n")
    >>> patched.split("\\n")[1].rstrip(), found[0].line, found[0].path
    ('n = 0', 2, ('a', 'n'))
    """
    scanner = _Scanner(text)
    scanner.run()
    if not scanner.spans:
        return text, []
    pieces = []
    last = 0
    found = []
    for start, end, path, reason in scanner.spans:
        kept = "".join("\n" if c == "\n" else " " for c in text[start + 1 : end])
        pieces += [text[last:start], "0", kept]
        last = end
        line, col = scanner.lines.at(start)
        found.append(Defused(line, col, path, reason))
    pieces.append(text[last:])
    return "".join(pieces), found
