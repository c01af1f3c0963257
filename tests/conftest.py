"""Fixtures shared by several test files."""

from __future__ import annotations

import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1: (cert path, key path)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available")
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture(autouse=True)
def private_config_dir(monkeypatch, tmp_path_factory):
    """No test reads or writes the real config.toml (the app saves UI settings there)."""
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
