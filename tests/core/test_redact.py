"""The one redactor: configured secrets in every spelling, credential shapes, cut texts; and
the surfaces that show stored text (status, dead letters, the live page) masking it again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import redact
from gateway.cli import admin
from gateway.cli import status as shown
from gateway.redact import Redactor, mask_shapes
from gateway.store import DeadLetter, Store
from tests.builders import T0

SECRET = "lf_live_0123456789abcdef+/ABC"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("authorization=Basic dXNlcjpwYXNz", "authorization=Basic ***"),
        ("Authorization: s3cr3t-value", "Authorization: ***"),
        ("missing bearer eyJhbGciOiJIUzI1NiJ9", "missing bearer ***"),
        ("X-API-KEY: zzz123 next", "X-API-KEY: *** next"),
        ("x_api_key=zzz123", "x_api_key=***"),
        ("GET /api/logs?source=u&api_key=abc&x=1", "GET /api/logs?source=u&api_key=***&x=1"),
        ("apikey:abc", "apikey:***"),
        ("api-key = abc", "api-key = ***"),
        ('{"api_key": "ab cd", "n": 1}', '{"api_key": "***", "n": 1}'),
        ("{'token': 'a\"b'}", "{'token': '***'}"),
        ('"{\\"api_key\\": \\"abc\\"}"', '"{\\"api_key\\": \\"***\\"}"'),
        ("token=abc; path=/", "token=***; path=/"),
        ("access_token=abc&refresh_token=def", "access_token=***&refresh_token=***"),
        ("github_token: ghp_abc", "github_token: ***"),
        ("exporters.logflare.api_key: abc", "exporters.logflare.api_key: ***"),
        ("password: hunter2, user: bob", "password: ***, user: bob"),
        ("client_secret=abc", "client_secret=***"),
        ("next?api_key%3Dabc", "next?api_key%3D***"),
        ("postgresql://app:pw0rd@db/logs", "postgresql://app:***@db/logs"),
        ("jwt eyJhbGciOi.eyJzdWIiOjF9.c2lnbmF0dXJl here", "jwt *** here"),
    ],
)
def test_credential_shapes_are_masked(text: str, masked: str) -> None:
    assert mask_shapes(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        'HTTP 401: {"error": "Unauthorized"}',
        "Invalid token",
        "max_tokens=5 token_count=3 tokens: 7",
        "Buffer Full: Too Many Requests",
        "https://api.logflare.app/api/logs?source=9dd9a6f6",
        "Source rate is over the API quota.",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor([SECRET])(text) == text


@pytest.mark.parametrize(
    "spelling",
    [
        SECRET,
        "lf_live_0123456789abcdef%2B%2FABC",  # percent-encoded in a query
        "lf_live_0123456789abcdef%2B/ABC",  # percent-encoded in a URL's path
        json.dumps(SECRET)[1:-1],
    ],
)
def test_a_configured_secret_is_masked_in_every_spelling(spelling: str) -> None:
    masked = Redactor([SECRET])(f"<p>you sent {spelling} as your key</p>")
    assert "0123456789" not in masked


def test_the_longest_secret_is_masked_whole() -> None:
    assert Redactor(["abcd", "abcdefgh"])("x abcdefgh y abcd") == "x *** y ***"


def test_a_text_cut_inside_a_secret_has_its_start_masked() -> None:
    redactor = Redactor([SECRET])
    assert redactor("...body cut here: " + SECRET[:9], cut=True) == "...body cut here: ***"
    assert redactor("ends with lf_l", cut=True) == "ends with ***"
    assert redactor("ends with lf_", cut=True) == "ends with lf_"  # 3 characters say nothing


def test_a_whole_text_that_ends_like_a_secret_begins_is_left_alone() -> None:
    redactor = Redactor(["viewer-token-0123456789"])
    assert redactor("logsieve started: viewer") == "logsieve started: viewer"


def test_empty_secrets_change_nothing() -> None:
    assert Redactor(["", ""])("plain text") == "plain text"


@pytest.fixture
def knows_secret() -> Iterator[None]:
    redact.install([SECRET])
    yield
    redact.install([])


def test_install_makes_text_mask_the_configured_secrets(knows_secret: None) -> None:
    assert redact.text(f"key {SECRET}") == "key ***"
    redact.install([])
    assert redact.text(f"key {SECRET}") == f"key {SECRET}"
    assert redact.text("Bearer abc") == "Bearer ***"  # shapes always


@pytest.fixture
def old_store(tmp_path: Path) -> Iterator[Store]:
    """A database whose texts hold the key unmasked: written by a process that did not know
    it (an older version), read by one that does."""
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    store.create_schema()
    redact.install([])
    store.record_export_result("logflare", T0, f"HTTP 500: proxy page repeating {SECRET}")
    yield store
    store.dispose()
    redact.install([])


def test_status_masks_what_an_older_gateway_stored(old_store: Store) -> None:
    assert SECRET in old_store.viewer_status(T0).exports["logflare"].last_error_text  # premise
    redact.install([SECRET])
    status = shown.read_status(old_store, T0)
    assert SECRET not in "\n".join(shown.status_lines(status))
    assert SECRET not in json.dumps(shown.status_json(status))
    found = shown.status_json(status)["exporters"]["logflare"]
    assert found["last_error_text"].endswith("repeating ***")


def test_dead_letter_reasons_are_masked_when_shown(old_store: Store) -> None:
    letter = DeadLetter(1, T0, '{"event_message": "m"}', f"HTTP 400: {SECRET}", "logflare")
    page = admin.DeadLetterPage([letter], 1, more=False)
    redact.install([SECRET])
    assert admin.page_json(page)["dead_letters"][0]["reason"] == "HTTP 400: ***"
    assert SECRET not in "\n".join(admin.page_lines(page, T0))


def test_the_live_page_status_frame_is_masked(old_store: Store) -> None:
    from viewer import stream

    redact.install([SECRET])
    frame = stream.frame(stream.status(0, old_store.viewer_status(T0), exporter_enabled=True))
    assert SECRET not in frame
    assert json.loads(frame)["status"]["exporter"]["lastErrorText"].endswith("repeating ***")
