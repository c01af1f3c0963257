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


@pytest.fixture(autouse=True, scope="session")
def shared_css_parse():
    """Parse each piece of Textual CSS once per test process, not once per app and theme.

    Every app a test starts parses the same CSS again (its own .tcss and every widget's
    DEFAULT_CSS), and again on each theme change: about a tenth of a UI test's time.  Textual
    already caches the parsed rules per stylesheet under the same key (the CSS, where it was read
    from, default or not, tie breaker, scope; cleared when the variables change); this shares that
    cache between stylesheets, with the theme's variables in the key, so what each app gets is what
    it would have parsed itself.  (Without Textual's private ``_parse_rules`` nothing is patched.)
    """
    from textual.css.stylesheet import Stylesheet

    original = getattr(Stylesheet, "_parse_rules", None)
    if original is None:
        yield
        return
    cache: dict[tuple, list] = {}

    def _parse_rules(self, css, read_from, is_default_rules=False, tie_breaker=0, scope=""):
        key = (tuple(sorted(self._variables.items())), css, read_from, is_default_rules, tie_breaker, scope)
        try:
            return cache[key]
        except KeyError:
            pass
        rules = cache[key] = original(self, css, read_from, is_default_rules, tie_breaker, scope)
        return rules

    Stylesheet._parse_rules = _parse_rules
    try:
        yield
    finally:
        Stylesheet._parse_rules = original


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """A test that runs the CLI in-process (``--log FILE``) installs a redacting handler on the root
    logger; it must not outlive that test (it rewrites records other tests' caplog reads)."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
