"""TLS with a private CA and client certificates (mutual TLS), over HTTP and gRPC.
Certificates are made by the openssl command for each test run."""

from __future__ import annotations

import logging
import ssl
import subprocess
from pathlib import Path

import grpc
import pytest

from tests.conftest import require_tool
from tests.integration.test_otlp_exporter import all_kinds, make_exporter
from tests.otlp_backend import OtlpBackend, wait_for


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    openssl = require_tool("openssl")
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
    for name, ext in (
        ("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        run("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext")  # fmt: skip
    return d


def client_tls(pki: Path) -> dict[str, str]:
    return {"ca_file": str(pki / "ca.pem"), "cert_file": str(pki / "client.pem"), "key_file": str(pki / "client.key")}


def server_ssl(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no connection
    return ctx


async def test_https_with_a_private_ca_and_a_client_certificate(pki: Path) -> None:
    backend = OtlpBackend()
    url = await backend.start_http(ssl_context=server_ssl(pki))
    exporter, _ = make_exporter(protocol="http", endpoint=url, tls=client_tls(pki))
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await exporter.shutdown()
    await backend.stop()
    assert len(backend.datapoints()) == 6


async def test_https_without_the_ca_is_refused_and_says_why(pki: Path, caplog: pytest.LogCaptureFixture) -> None:
    backend = OtlpBackend()
    url = await backend.start_http(ssl_context=server_ssl(pki))
    exporter, telemetry = make_exporter(protocol="http", endpoint=url, shutdown_timeout="100ms")
    await exporter.start()
    with caplog.at_level(logging.WARNING):
        await exporter.export_signal("metrics", all_kinds())
        retries = telemetry.counter("exporter_send_retries", "")
        await wait_for(lambda: retries.value(exporter="otlp", signal="metrics") >= 1)
        await exporter.shutdown()
    await backend.stop()
    assert not backend.received["metrics"]
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


async def test_grpc_with_a_private_ca_and_a_client_certificate(pki: Path) -> None:
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    backend = OtlpBackend()
    target = await backend.start_grpc(credentials=credentials)
    exporter, _ = make_exporter(protocol="grpc", endpoint=f"https://{target}", tls=client_tls(pki))
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await wait_for(lambda: backend.received["metrics"])
    await exporter.shutdown()
    await backend.stop()
    assert len(backend.datapoints()) == 6
