"""The ETF codec against the real term_to_binary/binary_to_term of OTP 25 and OTP 28.

A port program (tests/support/erl/etf_echo.erl) runs in a *distributed* VM per release (private
EPMD), so the regenerated vectors carry a real node name and creation; no distribution connection
is involved, which keeps this fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import launcher
from mim_bridge.erldist import etf
from support import erlvm
from support import etf_cases as C
from support.etf_strategies import terms

pytestmark = pytest.mark.live

CHECKED_IN = {v["name"]: v["hex"] for v in C.load()["vectors"]}


@pytest.fixture(scope="session")
def etf_ebin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return erlvm.compile_erl(tmp_path_factory.mktemp("etf_ebin"), "etf_echo")


@pytest.fixture(scope="module", params=erlvm.runtime_ids(), ids=lambda r: f"otp{r}")
def vm(request: pytest.FixtureRequest, etf_ebin: Path) -> Iterator[erlvm.EtfPort]:
    runtime = launcher.runtimes()[request.param]
    with launcher.Epmd(runtime) as epmd, erlvm.EtfPort(
            runtime, etf_ebin, sname=erlvm.node_name("etf"),
            epmd_port=epmd.port) as port:
        yield port


@pytest.fixture(scope="module")
def vm_info(vm: erlvm.EtfPort) -> erlvm.VmInfo:
    info = vm.info()
    assert info.node != "nonode@nohost" and info.creation != 0  # really distributed
    return info


def _reproducible(case: C.Case) -> bool:
    """Bytes that do not depend on the VM instance: no node name/creation, no fresh refs or
    funs, and no maps (OTP 26+ orders atom keys of small maps by atom-table index)."""
    return not any(s in case.python for s in ("NODE", "AnyRef", "AnyFun")) \
        and not any(s in case.erlang for s in ("#{", "maps:"))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in C.CASES])
def test_regenerated_vector_decodes_to_the_expected_value(
        vm: erlvm.EtfPort, vm_info: erlvm.VmInfo, case: C.Case) -> None:
    if int(vm_info.release) < case.min_otp:
        pytest.skip(f"needs OTP {case.min_otp}")
    data = vm.eval(case.erlang, case.options)
    error = C.expected_error(case.python)
    if error is not None:
        with pytest.raises(error):
            etf.decode(data)
        return
    got = etf.decode(data)
    want = C.expected(case.python, vm_info.node, vm_info.creation)
    assert C.same(want, got), f"want {want!r}\ngot  {got!r}"

    # our encoding of what we decoded is accepted by binary_to_term and is the same term
    assert vm.equal(data, etf.encode(got))
    if not C.has_matcher(want):
        assert vm.equal(data, etf.encode(want))

    # the checked-in bytes are still what this release produces
    checked = CHECKED_IN.get(case.name, {}).get(vm_info.release)
    if checked is not None and _reproducible(case):
        assert data.hex() == checked, "stale tests/data/etf_vectors.json: " \
                                      "run python tests/support/etf_cases.py"


ROUNDTRIP = settings(max_examples=250, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
OPTIONS = st.sampled_from(["", "[compressed]", "[{minor_version, 0}]", "[{minor_version, 1}]",
                           "[{compressed, 9}, {minor_version, 2}]"])


@ROUNDTRIP
@given(value=terms, options=OPTIONS)
def test_generated_terms_round_trip_through_the_vm(vm: erlvm.EtfPort, value: Any,
                                                   options: str) -> None:
    ours = etf.encode(value)
    theirs = vm.echo(ours, options)          # term_to_binary(binary_to_term(ours), options)
    back = etf.decode(theirs)
    assert C.erl_canon(back) == C.erl_canon(value)
    assert vm.equal(ours, etf.encode(back))  # and our re-encoding is the same Erlang term


def test_bit_binaries_lose_insignificant_bits_like_erlang(vm: erlvm.EtfPort) -> None:
    from mim_bridge.erldist.terms import BitBinary

    theirs = vm.echo(bytes.fromhex("834d0000000103ff"))  # <<7:3>> with the 5 spare bits set
    assert etf.decode(theirs) == BitBinary(b"\xe0", 3) == etf.decode(
        bytes.fromhex("834d0000000103ff"))
