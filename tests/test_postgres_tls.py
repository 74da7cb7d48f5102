"""TLS to PostgreSQL (Cloud SQL with ENCRYPTED_ONLY): DATABASE_URL's sslmode/sslrootcert
against a real PostgreSQL started here with TLS on, from this machine's own binaries."""

from __future__ import annotations

import contextlib
import glob
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from abbanoa.errors import ConfigError, ServiceUnavailable
from abbanoa.stores import postgres


def _as_postgres(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, **kwargs)


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


@contextlib.contextmanager
def _server(tls: bool):
    """A throwaway PostgreSQL on a free port, with ssl on or off: (port, its certificate, a
    stranger CA)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    assert binaries and shutil.which("runuser") and shutil.which("openssl"), "PostgreSQL binaries, runuser, openssl"
    root = Path(tempfile.mkdtemp(prefix="abbanoa-pgtls-"))
    root.chmod(0o755)
    key, cert = _certificate(root, "server")
    _, stranger = _certificate(root, "stranger")
    shutil.chown(key, "postgres")
    key.chmod(0o600)
    shutil.chown(root, "postgres")
    bindir = Path(binaries[-1])
    _as_postgres(str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ssl = f"-c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}" if tls else "-c ssl=off"
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {ssl}"
    _as_postgres(
        str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "start"
    )
    try:
        yield port, cert, stranger
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate",
             "stop"], capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_server():
    with _server(tls=True) as server:
        yield server


def _encrypted(settings, url: str) -> bool:
    s = settings.with_(database_url=url)
    postgres.check(s)  # the readable one-line probe
    try:
        with postgres.engine(s).connect() as conn:
            return conn.execute(sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar()
    finally:
        postgres.dispose_engines()


def test_sslmode_encrypts_and_verifies_the_server_against_its_ca(tls_server, settings):
    port, cert, stranger = tls_server
    base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    # as with libpq, no sslmode means prefer: encrypted when the server offers it; disable is plain
    assert _encrypted(settings, base) is True
    assert _encrypted(settings, base + "?sslmode=disable") is False
    assert _encrypted(settings, base + "?sslmode=require") is True
    # require with a CA file verifies against it, as libpq does
    with pytest.raises(ServiceUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        _encrypted(settings, f"{base}?sslmode=require&sslrootcert={stranger}")
    # verify-ca checks the server's certificate against the CA file given
    assert _encrypted(settings, f"{base}?sslmode=verify-ca&sslrootcert={cert}") is True
    with pytest.raises(ServiceUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        _encrypted(settings, f"{base}?sslmode=verify-ca&sslrootcert={stranger}")
    # verify-full also checks the name: the certificate names localhost, not 127.0.0.1
    assert _encrypted(
        settings, f"postgresql://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={cert}"
    )
    with pytest.raises(ServiceUnavailable, match="hostname|IP address mismatch|doesn't match"):
        _encrypted(settings, f"{base}?sslmode=verify-full&sslrootcert={cert}")


def test_unusable_ssl_settings_are_named(settings, tmp_path):
    for query, message in (
        ("sslmode=allow", "sslmode='allow' is not supported"),
        ("sslmode=verify-ca", "needs sslrootcert"),
        (f"sslmode=verify-ca&sslrootcert={tmp_path / 'missing.pem'}", "cannot be read"),
        (f"sslmode=prefer&sslrootcert={tmp_path / 'ca.pem'}", "would not verify"),
    ):
        with pytest.raises(ConfigError, match=message):
            postgres.connection(settings.with_(database_url=f"postgresql://u@127.0.0.1/db?{query}"), timeout=5)


def test_require_refuses_a_server_without_tls(settings):
    # given a server with TLS off: require must fail, not fall back to plain; prefer connects
    with _server(tls=False) as (port, _, _):
        base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with pytest.raises(ServiceUnavailable, match="unreachable"):
            _encrypted(settings, base + "?sslmode=require")
        assert _encrypted(settings, base) is False
