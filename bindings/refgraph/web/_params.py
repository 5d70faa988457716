"""Query parameters of the debug pages: each one known, bounded and checked; a bad one is a 400 with one line."""

from __future__ import annotations

from urllib.parse import parse_qsl

MAX_QUERY = 2048
MAX_TYPE_NAME = 200
MAX_PID = 1 << 22  # Linux's pid_max ceiling
MAX_ID = (1 << 64) - 1


class BadRequest(ValueError):
    """A request the pages refuse: ``status`` and a one-line reason."""

    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.status = status


def parse(query, allowed, endpoint):
    """{name: value} of a query string; BadRequest for an unknown, repeated or malformed parameter."""
    if len(query) > MAX_QUERY:
        raise BadRequest(f"{endpoint}: query string longer than {MAX_QUERY} characters")
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, strict_parsing=bool(query), max_num_fields=len(allowed) + 1, errors="strict"
        )
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"{endpoint}: malformed query string ({_one_line(e)})") from None
    out = {}
    for name, value in pairs:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise BadRequest(f"{endpoint}: unknown parameter {_show(name)} (known: {known})")
        if name in out:
            raise BadRequest(f"{endpoint}: parameter {name!r} given twice")
        out[name] = value
    return out


def choice(params, name, choices, default):
    value = params.get(name, default)
    if value not in choices:
        raise BadRequest(f"{name}: must be one of {', '.join(choices)}, not {_show(value)}")
    return value


def integer(params, name, default, low, high):
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 20:
        raise BadRequest(f"{name}: expected a whole number from {low} to {high}, not {_show(value)}")
    n = int(value)
    if not low <= n <= high:
        raise BadRequest(f"{name}: {n} is out of range ({low} to {high})")
    return n


def type_name(params, name="type"):
    value = params.get(name)
    if value is None:
        return None
    if not value or len(value) > MAX_TYPE_NAME or not value.isprintable():
        raise BadRequest(f"{name}: expected a type name of 1 to {MAX_TYPE_NAME} printable characters")
    return value


def _show(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(e):
    return " ".join(str(e).split())[:120]
