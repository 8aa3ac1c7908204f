"""The initiator side of the distribution handshake, byte by byte (no sockets)."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.erldist import (
    CookieMismatch,
    DecodeError,
    ErldistError,
    HandshakeRefused,
    LocalError,
    NameInUse,
)
from mim_bridge.erldist import (
    flags as F,
)
from mim_bridge.erldist.handshake import AliveAnswer, ClientHandshake, State, digest

NAME = "bridge@localhost"
COOKIE = "ABCDEFGHIJ"
PEER_FLAGS = F.MANDATORY_25 | F.DIST_HDR_ATOM_CACHE | F.FRAGMENTS | F.PUBLISHED


def frame(payload: bytes, packet: int = 2) -> bytes:
    return struct.pack(">H" if packet == 2 else ">I", len(payload)) + payload


def status(text: str, packet: int = 2) -> bytes:
    return frame(b"s" + text.encode(), packet)


def challenge_v6(challenge: int, *, flags: int = PEER_FLAGS, creation: int = 0x0A0B0C0D,
                 name: str = "mim@localhost", packet: int = 2) -> bytes:
    n = name.encode()
    return frame(struct.pack(">cQIIH", b"N", flags, challenge, creation, len(n)) + n, packet)


def challenge_v5(challenge: int, *, flags: int = PEER_FLAGS & 0xFFFFFFFF,
                 name: str = "old@localhost") -> bytes:
    return frame(struct.pack(">cHII", b"n", 5, flags, challenge) + name.encode())


def ack(hs: ClientHandshake, reply: bytes, *, cookie: str = COOKIE, packet: int = 2) -> bytes:
    """The node's challenge_ack for our challenge_reply *reply* (as a node with *cookie*)."""
    ours = struct.unpack(">I", reply[packet + 1:packet + 5])[0]
    return frame(b"a" + digest(cookie, ours), packet)


def handshake(**kw: Any) -> ClientHandshake:
    hs = ClientHandshake(NAME, COOKIE, creation=0x01020304, **kw)
    hs.start()
    return hs


# --------------------------------------------------------------------------- send_name

def test_client_flags_make_a_hidden_node_with_the_otp25_mandatory_set() -> None:
    flags = F.CLIENT_FLAGS
    assert not flags & F.PUBLISHED  # hidden: only in nodes(hidden)
    assert flags & F.MANDATORY_25 == F.MANDATORY_25
    for bit in (F.MANDATORY_25_DIGEST, F.V4_NC, F.UNLINK_ID, F.FRAGMENTS, F.DIST_HDR_ATOM_CACHE,
                F.HANDSHAKE_23, F.BIG_CREATION):
        assert flags & bit, F.describe(bit)
    for bit in (F.NAME_ME, F.SPAWN, F.ALIAS, F.ATOM_CACHE):  # not implemented: not advertised
        assert not flags & bit, F.describe(bit)


SEND_NAME_TABLE = [
    # version 6: 'N', Flags:64, Creation:32, NameLen:16, Name
    pytest.param(6, 2, "001f" "4e" "0000000407cf7fbc" "01020304" "0010" + NAME.encode().hex(),
                 id="v6"),
    # version 5: 'n', Version:16 = 5, Flags:32 (HANDSHAKE_23 cleared), Name
    pytest.param(5, 2, "0017" "6e" "0005" "06cf7fbc" + NAME.encode().hex(), id="v5"),
    # TLS distribution: the same frame with a 4-byte length
    pytest.param(6, 4, "0000001f" "4e" "0000000407cf7fbc" "01020304" "0010"
                 + NAME.encode().hex(), id="v6-tls"),
]


@pytest.mark.parametrize(("version", "packet", "want"), SEND_NAME_TABLE)
def test_send_name_bytes(version: int, packet: int, want: str) -> None:
    hs = ClientHandshake(NAME, COOKIE, creation=0x01020304, version=version, packet_size=packet)
    assert hs.start().hex() == want
    assert hs.state is State.AWAIT_STATUS


def test_start_twice_and_bad_version_are_typed_programming_errors() -> None:
    hs = handshake()
    with pytest.raises(LocalError, match="already started"):
        hs.start()
    with pytest.raises(LocalError, match="version must be 5 or 6"):
        ClientHandshake(NAME, COOKIE, version=4)


def test_random_creation_is_never_a_reserved_value() -> None:
    for _ in range(200):
        assert 4 <= ClientHandshake(NAME, COOKIE).creation <= 0xFFFFFFFF


# --------------------------------------------------------------------------- status

STATUS_TABLE = [
    # status, bytes we answer, state afterwards or error
    ("ok", b"", State.AWAIT_CHALLENGE),
    ("ok_simultaneous", b"", State.AWAIT_CHALLENGE),
    ("alive", frame(b"sfalse"), State.NAME_IN_USE),  # by default we cannot know it is ours
    ("nok", None, HandshakeRefused),
    ("not_allowed", None, HandshakeRefused),
    ("named:", None, HandshakeRefused),  # we never ask for a dynamic name
    ("something new", None, HandshakeRefused),
]


@pytest.mark.parametrize(("text", "answer", "outcome"), STATUS_TABLE)
def test_status(text: str, answer: bytes | None, outcome: Any) -> None:
    hs = handshake()
    if isinstance(outcome, State):
        assert hs.receive(status(text)) == answer
        assert hs.state is outcome
    else:
        with pytest.raises(outcome):
            hs.receive(status(text))


def test_alive_is_replaced_only_when_the_caller_says_the_name_is_its_own() -> None:
    hs = handshake(replace_alive=True)
    assert hs.receive(status("alive")) == frame(b"strue")
    assert hs.state is State.AWAIT_CHALLENGE and hs.alive is AliveAnswer.REPLACED
    assert hs.failure is None
    reply = hs.receive(challenge_v6(99))  # and the handshake goes on as after "ok"
    hs.receive(ack(hs, reply))
    assert hs.state is State.CONNECTED


@pytest.mark.parametrize("packet", [2, 4])
def test_alive_refused_answers_false_then_fails_with_name_in_use(packet: int) -> None:
    hs = handshake(packet_size=packet)
    # whatever follows the status in the same read is not looked at
    out = hs.receive(status("alive", packet) + challenge_v6(1, packet=packet))
    assert out == frame(b"sfalse", packet)  # sent before giving up, so the node closes cleanly
    assert hs.state is State.NAME_IN_USE and hs.alive is AliveAnswer.REFUSED
    assert isinstance(hs.failure, NameInUse) and isinstance(hs.failure, HandshakeRefused)
    assert hs.failure.name == NAME and NAME in str(hs.failure)
    assert hs.connection_closed() is hs.failure  # the node hanging up changes nothing
    assert hs.receive(b"more") == b"" and hs.state is State.NAME_IN_USE


def test_not_allowed_explains_itself() -> None:
    with pytest.raises(HandshakeRefused, match="allow"):
        handshake().receive(status("not_allowed"))


# --------------------------------------------------------------------------- challenge / digest

DIGESTS = [  # computed by Erlang: erlang:md5(Cookie ++ integer_to_list(Challenge))
    ("secret", 0, "175ec77a7f63082590987d0d8b051aff"),
    ("secret", 12345, "d4047d3e56e6d6d63f7d16b85cd2fa88"),
    ("monster", 4294967295, "9dffd90a48c46a8277429bfdefc02ebe"),
    ("ABCDEFGHIJ", 3735928559, "3a8fb3c2d75f0169780726fc68266442"),
]


@pytest.mark.parametrize(("cookie", "challenge", "want"), DIGESTS)
def test_digest_is_md5_of_cookie_and_decimal_challenge(cookie: str, challenge: int,
                                                       want: str) -> None:
    assert digest(cookie, challenge).hex() == want


@pytest.mark.parametrize("packet", [2, 4])
def test_full_handshake(packet: int) -> None:
    hs = handshake(packet_size=packet)
    assert hs.receive(status("ok", packet)) == b""
    reply = hs.receive(challenge_v6(0xDEADBEEF, packet=packet))
    # challenge_reply: 'r', OurChallenge:32, Digest = md5(cookie ++ "3735928559")
    assert reply[:packet] == (21).to_bytes(packet, "big")
    assert reply[packet:packet + 1] == b"r"
    assert reply[packet + 5:].hex() == "3a8fb3c2d75f0169780726fc68266442"
    assert hs.state is State.AWAIT_ACK
    assert hs.receive(ack(hs, reply, packet=packet)) == b""
    assert hs.state is State.CONNECTED
    assert hs.peer is not None
    assert (hs.peer.name, hs.peer.flags, hs.peer.creation, hs.peer.version) == (
        "mim@localhost", PEER_FLAGS, 0x0A0B0C0D, 6)
    assert hs.rest == b""


def test_our_challenges_differ() -> None:
    replies = set()
    for _ in range(20):
        hs = handshake()
        hs.receive(status("ok"))
        replies.add(hs.receive(challenge_v6(1))[3:7])
    assert len(replies) > 1


def test_bytes_after_the_ack_are_kept_for_the_connection() -> None:
    hs = handshake()
    hs.receive(status("ok"))
    reply = hs.receive(challenge_v6(7))
    hs.receive(ack(hs, reply) + b"\0\0\0\0" + b"\0\0\0\x01p")
    assert hs.state is State.CONNECTED
    assert hs.rest == b"\0\0\0\0\0\0\0\x01p"


def test_one_byte_at_a_time_and_all_at_once_agree() -> None:
    hs = handshake()
    reply = b"".join(hs.receive(bytes([x])) for x in status("ok") + challenge_v6(99))
    assert hs.state is State.AWAIT_ACK and reply[2:3] == b"r"
    for x in ack(hs, reply) + b"\0\0":
        hs.receive(bytes([x]))
    assert hs.state is State.CONNECTED and hs.rest == b"\0\0"

    hs2 = handshake()
    reply2 = hs2.receive(status("ok") + challenge_v6(99))
    assert reply2[7:] == reply[7:]  # same digest of the node's challenge


def test_version5_challenge() -> None:
    hs = handshake(version=5)
    hs.receive(status("ok"))
    reply = hs.receive(challenge_v5(12345))
    assert reply[7:].hex() == digest(COOKIE, 12345).hex()
    hs.receive(ack(hs, reply))
    assert hs.peer is not None
    assert (hs.peer.name, hs.peer.version, hs.peer.creation) == ("old@localhost", 5, 0)


def test_wrong_ack_digest_is_a_cookie_mismatch() -> None:
    hs = handshake()
    hs.receive(status("ok"))
    reply = hs.receive(challenge_v6(5))
    with pytest.raises(CookieMismatch, match="different cookie"):
        hs.receive(ack(hs, reply, cookie="not the cookie"))
    assert hs.state is not State.CONNECTED


@pytest.mark.parametrize(("steps", "error"), [
    pytest.param(0, HandshakeRefused, id="before-status"),
    pytest.param(1, HandshakeRefused, id="before-challenge"),
    pytest.param(2, CookieMismatch, id="after-challenge-reply"),
])
def test_connection_closed_mid_handshake(steps: int, error: type[Exception]) -> None:
    hs = handshake()
    for data in [status("ok"), challenge_v6(1)][:steps]:
        hs.receive(data)
    exc = hs.connection_closed()
    assert type(exc) is error
    assert hs.failure is None
    if error is CookieMismatch:
        assert "cookie" in str(exc)


def test_peer_without_required_flags_is_refused() -> None:
    hs = handshake()
    hs.receive(status("ok"))
    old = PEER_FLAGS & ~(F.BIG_CREATION | F.MAP_TAG)
    with pytest.raises(HandshakeRefused, match="MAP_TAG, BIG_CREATION"):
        hs.receive(challenge_v6(1, flags=old))


def test_mandatory_25_digest_stands_for_the_mandatory_flags() -> None:
    hs = handshake()
    hs.receive(status("ok"))
    hs.receive(challenge_v6(1, flags=F.MANDATORY_25_DIGEST | F.HANDSHAKE_23))
    assert hs.state is State.AWAIT_ACK


PROTOCOL_ERRORS = [
    ("status with another tag", [frame(b"xok")]),
    ("empty frame", [frame(b"")]),
    ("challenge with an unknown tag", [status("ok"), frame(b"Q" + bytes(30))]),
    ("truncated v6 challenge", [status("ok"), frame(b"N" + bytes(10))]),
    ("truncated v5 challenge", [status("ok"), frame(b"n\x00\x05")]),
    ("ack with another tag", [status("ok"), challenge_v6(1), frame(b"b" + bytes(16))]),
    ("short ack", [status("ok"), challenge_v6(1), frame(b"a" + bytes(15))]),
]


@pytest.mark.parametrize("frames", [pytest.param(f, id=i) for i, f in PROTOCOL_ERRORS])
def test_protocol_errors(frames: list[bytes]) -> None:
    hs = handshake()
    with pytest.raises(DecodeError):
        for f in frames:
            hs.receive(f)


def test_oversized_frame_claim_is_refused_without_waiting_for_it() -> None:
    hs = handshake(packet_size=4)
    with pytest.raises(DecodeError, match="handshake frame"):
        hs.receive(b"\xff\xff\xff\xff")


# --------------------------------------------------------------------------- fuzz

FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def feed(hs: ClientHandshake, chunks: list[bytes]) -> None:
    """Only the erldist error tree may escape."""
    try:
        for c in chunks:
            hs.receive(c)
    except ErldistError:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=40), max_size=5), st.sampled_from([2, 4]))
def test_random_bytes_only_raise_erldist_errors(chunks: list[bytes], packet: int) -> None:
    feed(handshake(packet_size=packet), chunks)


@FUZZ
@given(st.integers(0, 200), st.integers(1, 255), st.integers(0, 200), st.sampled_from([2, 4]))
def test_mutated_transcripts_only_raise_erldist_errors(pos: int, xor: int, cut: int,
                                                       packet: int) -> None:
    hs = handshake(packet_size=packet)
    good = status("ok", packet) + challenge_v6(42, packet=packet)
    data = bytearray(good)
    data[pos % len(data)] ^= xor
    feed(hs, [bytes(data[:len(data) - cut % len(data)])])
    if hs.state is State.AWAIT_ACK:
        feed(hs, [frame(b"a" + bytes(16), packet)])
