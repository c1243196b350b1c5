"""Where a value sits in a JSON or YAML file (line and column from 1), for messages that name the place."""

from __future__ import annotations

import json
import re

import yaml

_WS = re.compile(r"[ \t\n\r]*")


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def json_positions(text: str) -> dict[tuple, tuple[int, int]]:
    """(line, column) of every value of a valid JSON text, by its path of keys and list indexes.

    The root is the path (). A key of an object is found at its value; json itself keeps no
    positions, so the text is walked once more here.
    """
    decoder = json.JSONDecoder()
    out: dict[tuple, tuple[int, int]] = {}

    def value(i: int, path: tuple) -> int:
        i = _WS.match(text, i).end()
        out[path] = _line_col(text, i)
        if text[i] == "{":
            i = _WS.match(text, i + 1).end()
            if text[i] == "}":
                return i + 1
            while True:
                key, i = json.decoder.scanstring(text, i + 1)
                i = _WS.match(text, i).end() + 1  # the colon
                i = _WS.match(text, value(i, path + (key,))).end()
                if text[i] == "}":
                    return i + 1
                i = _WS.match(text, i + 1).end()  # after the comma, at the next key
        if text[i] == "[":
            i = _WS.match(text, i + 1).end()
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = _WS.match(text, value(i, path + (n,))).end()
                n += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        return decoder.raw_decode(text, i)[1]

    value(0, ())
    return out


def yaml_error_place(exc: yaml.YAMLError, first_line: int = 1) -> tuple[int, int, str]:
    """(line, column, what) of a YAML syntax error; `first_line` is the file line of the text's first
    line (front matter starts below its `---`)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context:
        what = f"{what} ({context})"
    if mark is None:
        return first_line, 1, what
    return mark.line + first_line, mark.column + 1, what


def yaml_place(text: str, path: str, first_line: int = 1) -> tuple[int | None, int | None]:
    """(line, column) of the value at `path` in a YAML text (`outcomes[2].codes`, `defaults.level`),
    or of the deepest part of it that exists; (None, None) when the text does not parse."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None, None
    if node is None:
        return None, None
    rest = path
    while rest:
        if rest.startswith("["):
            m = re.match(r"\[(\d+)\]\.?", rest)
            if not m or not isinstance(node, yaml.SequenceNode) or int(m.group(1)) >= len(node.value):
                break
            node, rest = node.value[int(m.group(1))], rest[m.end():]
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        # keys may hold dots or spaces (`1 month`): the longest key the path starts with
        best = None
        for k, v in node.value:
            key = str(k.value)
            if rest == key or rest.startswith(key + ".") or rest.startswith(key + "["):
                if best is None or len(key) > len(best[0]):
                    best = (key, v)
        if best is None:
            break
        node, rest = best[1], rest[len(best[0]):].lstrip(".")
    return node.start_mark.line + first_line, node.start_mark.column + 1
