"""Dict keys in labels: names the program's code chose are shown; data used as keys (session tokens, card numbers)
never is, in a dump, a chain report, a drawing or a LeakError message, unless values=True."""

import ctypes
import io
import random
import re
import secrets
import sys
import types
import uuid

import pytest
import refgraph
from refgraph import _core
from refgraph.leakcheck import LeakError

# CPython 3.11's PyASCIIObject: the object header, length and hash, then the state bit field whose two low bits
# are `interned` (what PyUnicode_CHECK_INTERNED reads).
_STATE_OFFSET = object.__basicsize__ + 2 * ctypes.sizeof(ctypes.c_ssize_t)


def run_time_str(*parts):
    """A str made at run time: not interned, unlike the same text written as a literal."""
    return "".join(parts)


def interned(s):
    assert type(s) is str
    return ctypes.c_uint32.from_address(id(s) + _STATE_OFFSET).value & 3 != 0


class Session:
    pass


class Card:
    pass


def random_tokens(n):
    """Keys as a web app makes them: read or generated at run time, so never interned."""
    return (
        [secrets.token_hex(16) for _ in range(n)]
        + [secrets.token_urlsafe(16) for _ in range(n)]
        + [uuid.uuid4().hex for _ in range(n)]
    )


def card_numbers(n):
    return [random.randrange(4_000_000_000_000_000, 5_000_000_000_000_000) for _ in range(n)] + [
        random.randrange(10**9, 2**31) for _ in range(n)
    ]  # and ints small enough for an index label


@pytest.fixture
def app():
    mod = types.ModuleType("refgraph_test_sessions")
    mod.SESSIONS = {t: Session() for t in random_tokens(100)}
    mod.CARDS = {c: Card() for c in card_numbers(50)}
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def assert_none_in(text, mod):
    data = text.encode() if isinstance(text, str) else text
    runs = set(re.findall(rb"[\w-]{22,}", data))  # every place a token could be (they are 22 or 32 such chars)
    found = [t for t in mod.SESSIONS if any(t.encode() in run for run in runs)]
    numbers = set(re.findall(rb"(?<![\d.])\d+(?![\d.])", data))  # whole numbers, not parts of ids or times
    found += [c for c in mod.CARDS if b"%d" % c in numbers]
    assert found == []


def test_the_premise_random_tokens_are_often_identifiers_and_never_interned(app):
    # the old rule (an identifier of at most 40 characters is a name) would have shown these
    identifiers = [t for t in app.SESSIONS if t.isidentifier()]
    assert len(identifiers) > 30
    assert not any(interned(t) for t in app.SESSIONS)
    # and the check itself reads the interned state: a literal and sys.intern'ed text are interned
    assert interned("alice") and interned(sys.intern(run_time_str("made", "_at_run_time")))
    assert not interned(run_time_str("ali", "ce"))


def test_no_token_or_card_number_in_labels_or_dumps(app, tmp_path):
    g = _core.capture()
    assert g.metadata["values_included"] is False

    def labels_to(holder, type_name):
        return {lab for to, lab, _w, _d in g.out_edges(g.find(id(holder))) if g.node(g.find(to))["type"] == type_name}

    assert labels_to(app.SESSIONS, "Session") == {"[<str len=22>]", "[<str len=32>]"}
    assert labels_to(app.CARDS, "Card") == {"[<int>]"}
    g.save(str(tmp_path / "heap.rgd"))
    g.save_jsonl(str(tmp_path / "heap.jsonl"))
    _core.load(str(tmp_path / "heap.rgd")).save_jsonl(str(tmp_path / "reread.jsonl"))  # the .rgd is compressed
    data = (tmp_path / "heap.jsonl").read_bytes()
    assert (tmp_path / "reread.jsonl").read_bytes() == data  # so one search covers both
    assert b"[<int>]" in data and b"'SESSIONS'" in data
    assert_none_in(data, app)


def test_no_token_or_card_number_in_chain_reports_and_leak_errors(app):
    session = next(iter(app.SESSIONS.values()))
    card = next(iter(app.CARDS.values()))
    report = refgraph.chain_report(session)
    assert report.startswith("module refgraph_test_sessions -> attr 'SESSIONS' (dict) -> [<str len=")
    assert report.endswith(">] -> Session")
    assert refgraph.chain_report(card) == "module refgraph_test_sessions -> attr 'CARDS' (dict) -> [<int>] -> Card"
    assert_none_in(str(refgraph.snapshot().chain(session)), app)

    @refgraph.no_leaks(types=[Session, Card], calls=3)
    def login():
        token = secrets.token_hex(16)
        while not token.isidentifier():  # the kind the old rule showed
            token = secrets.token_hex(16)
        app.SESSIONS[token] = Session()
        app.CARDS[random.randrange(4_000_000_000_000_000, 5_000_000_000_000_000)] = Card()

    with pytest.raises(LeakError) as caught:
        login()
    message = str(caught.value)
    assert "attr 'SESSIONS' (dict) -> [<str len=32>] -> Session" in message
    assert "attr 'CARDS' (dict) -> [<int>] -> Card" in message
    assert_none_in(message, app)


@pytest.mark.parametrize("suffix", ["dot", "svg"])
def test_no_token_or_card_number_in_drawings(app, tmp_path, suffix, capsys):
    sessions = list(app.SESSIONS.values())[:5] + list(app.CARDS.values())[:5]
    path = tmp_path / f"backrefs.{suffix}"
    refgraph.show_backrefs(sessions, max_depth=3, too_many=500, filename=str(path))
    text = path.read_text()
    assert_none_in(text, app)
    assert "[&lt;int&gt;]" in text if suffix == "svg" else "[<int>]" in text
    chain = refgraph.find_backref_chain(sessions[0], refgraph.is_proper_module)
    out = io.StringIO()
    refgraph.show_chain(chain, output=out)
    assert "SESSIONS" in out.getvalue()
    assert_none_in(out.getvalue(), app)
    refgraph.show_refs([app.SESSIONS, app.CARDS], max_depth=1, too_many=1000, output=out)
    assert_none_in(out.getvalue(), app)
    capsys.readouterr()


def test_names_the_program_chose_still_show():
    class Holder:
        pass

    u = Session()
    attr_name = run_time_str("made", "_by_setattr")  # not interned until setattr interns it
    h = Holder()
    setattr(h, attr_name, u)
    named = {"alice": u, sys.intern(run_time_str("interned", "_key")): u, run_time_str("not", "_interned"): u}
    raw = Holder()
    object.__setattr__(raw, run_time_str("computed", "_key"), u)
    ns = types.SimpleNamespace(alpha=u)
    g = _core.capture()

    def labels(holder):
        return sorted(lab for to, lab, _w, _d in g.out_edges(g.find(id(holder))) if to == id(u))

    assert labels(named) == ["['alice']", "['interned_key']", "[<str len=12>]"]
    assert labels(h) == ["made_by_setattr"]  # an attribute (3.11: an inline value of the instance)
    assert labels(raw) == ["<str len=12>"]  # stored without setattr's interning: data, as far as we can tell
    assert labels(ns.__dict__) == ["['alpha']"]
    assert labels(sys.modules[__name__].__dict__) == []
    assert "['Session']" in [lab for to, lab, _w, _d in g.out_edges(g.find(id(globals()))) if to == id(Session)]


def test_values_true_shows_tokens_and_int_keys():
    token = secrets.token_hex(16)
    card = random.randrange(4_000_000_000_000_000, 5_000_000_000_000_000)
    u = Session()
    held = {token: u, card: u, 12345: u}
    g = _core.capture(values=True)
    labels = sorted(lab for to, lab, _w, _d in g.out_edges(g.find(id(held))) if to == id(u))
    assert labels == sorted([f"['{token}']", f"[{card}]", "[12345]"])
