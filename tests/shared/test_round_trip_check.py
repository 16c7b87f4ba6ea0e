"""The append's round-trip check (issue 12, finding 6; migrations 0009 and 0014), held to its
definition: a payload passes exactly when it is the canonical text of the value parsed from it.

Canonical events are generated with shared/canonical.py and then perturbed the ways a forger or
a careless client would (keys swapped or sent twice, whitespace, escapes, other spellings of a
number); the database's verdict on each text must equal the truth computed in Python.
"""

from __future__ import annotations

import re
import uuid

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import canonical

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=0x1F700, exclude_categories=["Cs"]))
KEYS = st.one_of(st.sampled_from(["a", "b", "aa", "ab", "n", "tags", "é", "Z", "_", "a_b"]), TEXT)
SCALARS = st.one_of(st.none(), st.booleans(), INT64, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=12,
)
DATA = st.dictionaries(KEYS, VALUES, max_size=6)

# Each turns a text into another that may or may not still be canonical; the truth decides.
PERTURBATIONS = [
    ("as it is", lambda t, d: t),
    ("a space after a separator", lambda t, d: t.replace(",", ", ", 1).replace(":", ": ", 1)),
    ("a newline at the end", lambda t, d: t + "\n"),
    (
        "a number spelled with a fraction",
        lambda t, d: re.sub(r"(?<=:)(-?\d+)(?=[,}])", r"\1.0", t, count=1),
    ),
    (
        "a number with an exponent",
        lambda t, d: re.sub(r"(?<=:)(-?\d+)(?=[,}])", r"\1e0", t, count=1),
    ),
    ("a negative zero", lambda t, d: t.replace('{"data":{', '{"data":{"!":-0,', 1)),
    (
        "a number beyond 64 bits",
        lambda t, d: t.replace('{"data":{', '{"data":{"!":9223372036854775808,', 1),
    ),
    (
        "a letter escaped",
        lambda t, d: re.sub(r'"([A-Za-z])', lambda m: f'"\\u{ord(m[1]):04x}', t, count=1),
    ),
    (
        "a letter escaped upper",
        lambda t, d: re.sub(r'"([A-Za-z])', lambda m: f'"\\u{ord(m[1]):04X}', t, count=1),
    ),
    (
        "a control escaped upper",
        lambda t, d: re.sub(r"\\u00([01][0-9a-f])", lambda m: "\\u00" + m[1].upper(), t, count=1),
    ),
    ("a slash escaped", lambda t, d: t.replace("/", "\\/", 1)),
    ("a key twice", lambda t, d: t.replace('{"data":{', '{"data":{"a":1,', 1)),
    ("data twice", lambda t, d: t.replace('{"data":', '{"data":{"x":1},"data":', 1)),
    ("keys swapped", lambda t, d: swap_first_two_keys(t, d)),
    ("the data's keys reversed", lambda t, d: reversed_data(t, d)),
]


def swap_first_two_keys(text: str, data: dict) -> str:
    keys = sorted(data, key=lambda k: k.encode())
    if len(keys) < 2:
        return text
    first, second = (canonical.dumps({k: data[k]}).decode()[1:-1] for k in keys[:2])
    return text.replace(f"{first},{second}", f"{second},{first}", 1)


def reversed_data(text: str, data: dict) -> str:
    pairs = ",".join(canonical.dumps({k: data[k]}).decode()[1:-1] for k in reversed(list(data)))
    return text.replace(canonical.dumps(data).decode(), "{" + pairs + "}", 1)


def event_text(data: dict) -> str:
    return canonical.dumps(
        canonical.content(
            tenant_id="t-1",
            stream_id=uuid.UUID(int=7),
            stream_version=1,
            event_type="ThingHappened",
            schema_version=1,
            data=data,
            meta={"actor": "x"},
        )
    ).decode()


def only_64_bit_integers(value: object) -> bool:
    if type(value) is dict:
        return all(only_64_bit_integers(v) for v in value.values())
    if type(value) is list:
        return all(only_64_bit_integers(v) for v in value)
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return type(value) is not float


def truth(text: str) -> bool:
    """Whether the text is the canonical text of what it parses to (a key sent twice is parsed
    once, keeping its last value, by orjson as by PostgreSQL)."""
    value = orjson.loads(text)
    return only_64_bit_integers(value) and canonical.dumps(value).decode() == text


def parsable(text: str) -> bool:
    """Texts both readers parse the same way (PostgreSQL refuses \\u0000 in text)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return "\\u0000" not in text


def generated_cases() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(DATA)
    def collect(data: dict) -> None:
        data = canonical.normalise(data)
        honest = event_text(data)
        for name, perturb in PERTURBATIONS:
            text = perturb(honest, data)
            if parsable(text):
                cases.append((name, text))

    collect()
    return cases


async def test_the_check_passes_exactly_the_texts_that_read_back_as_sent(owner):
    # Given canonical events of generated data, and each perturbed every way
    cases = generated_cases()
    assert any(not truth(text) for _, text in cases)

    # When the database makes the canonical text of what it parses from each
    rows = await owner.fetch(
        "SELECT coalesce((public.thidua_canonical_events(ARRAY[t::jsonb]))[1] = t, false) AS ok"
        " FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
        [text for _, text in cases],
    )

    # Then it passes a text exactly when the text is its own canonical form
    wrong = [
        (name, text)
        for (name, text), row in zip(cases, rows, strict=True)
        if row["ok"] != truth(text)
    ]
    assert wrong == []
