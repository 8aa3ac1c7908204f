"""Decode bytes that real OTP 25 / OTP 28 ``term_to_binary/1,2`` produced.

No Erlang needed: the bytes are checked in (tests/data/etf_vectors.json).
tests/live/test_etf_roundtrip.py regenerates them with the real VMs and re-runs the same checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from mim_bridge.erldist import etf
from mim_bridge.erldist.terms import ImproperList, MapKey
from support import etf_cases as C

VECTORS = C.load()
RELEASES: dict[str, Any] = VECTORS["releases"]

CASES: list[dict[str, Any]] = VECTORS["vectors"]
PARAMS = [
    pytest.param(rel, case, id=f"otp{rel}-{case['name']}")
    for rel in sorted(RELEASES)
    for case in CASES
    if rel in case["hex"]
]


def vector_bytes(release: str, case: dict[str, Any]) -> bytes:
    return bytes.fromhex(case["hex"][release])


def vector_value(release: str, case: dict[str, Any]) -> Any:
    r = RELEASES[release]
    return C.expected(case["python"], r["node"], r["creation"])


def test_data_file_matches_the_case_table() -> None:
    """Editing CASES without regenerating the data file fails here."""
    table = [(c.name, c.erlang, c.options, c.python) for c in C.CASES]
    assert [(v["name"], v["erlang"], v["options"], v["python"]) for v in CASES] == table, \
        "run: python tests/support/etf_cases.py"
    assert {"25", "28"} <= set(RELEASES)


@pytest.mark.parametrize(("release", "case"), PARAMS)
def test_decodes_real_otp_bytes(release: str, case: dict[str, Any]) -> None:
    data = vector_bytes(release, case)
    error = C.expected_error(case["python"])
    if error is not None:
        with pytest.raises(error):
            etf.decode(data)
        return
    got = etf.decode(data)
    want = vector_value(release, case)
    assert C.same(want, got), f"{case['erlang']} ({case['options'] or 'default'}):\n" \
                              f"  want {want!r}\n  got  {got!r}"


DECODABLE = [p for p in PARAMS if not C.expected_error(p.values[1]["python"])]  # type: ignore[index]


@pytest.mark.parametrize(("release", "case"), DECODABLE)
def test_decoded_value_reencodes_to_the_same_value(release: str, case: dict[str, Any]) -> None:
    got = etf.decode(vector_bytes(release, case))
    again = etf.decode(etf.encode(got))
    assert C.same(got, again)


OTP28_EXACT = [
    pytest.param(case, id=case["name"]) for case in CASES
    # OTP 26+ always uses V4_PORT_EXT for ports; we use NEW_PORT_EXT when the id fits 32 bits
    # (both are accepted by OTP 24+). Options select other encodings on purpose.
    if not case["options"] and "port" not in case["erlang"] + case["name"]
    and "28" in case["hex"]
]


@pytest.mark.parametrize("case", OTP28_EXACT)
def test_encoder_output_is_byte_identical_to_otp28(case: dict[str, Any]) -> None:
    """Our encoder makes the same canonical choices as OTP 28's term_to_binary/1."""
    data = vector_bytes("28", case)
    assert etf.encode(etf.decode(data)).hex() == data.hex()


def _types(value: Any, seen: set[type]) -> set[type]:
    seen.add(type(value))
    if isinstance(value, (list, tuple)):
        for v in value:
            _types(v, seen)
    elif isinstance(value, (dict, MapKey)):
        for k, v in value.items():
            _types(k, seen)
            _types(v, seen)
    elif isinstance(value, ImproperList):
        _types(value.elements, seen)
        _types(value.tail, seen)
    return seen


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_vectors_cover_every_term_type(release: str) -> None:
    seen: set[type] = set()
    tags: set[int] = set()
    for case in CASES:
        if release in case["hex"] and not C.expected_error(case["python"]):
            data = vector_bytes(release, case)
            tags.add(data[1])
            _types(etf.decode(data), seen)
    assert {int, float, bool, str, bytes, list, tuple, dict, *C.TERM_TYPES} <= seen
    assert etf.COMPRESSED in tags and etf.FLOAT_EXT in tags
