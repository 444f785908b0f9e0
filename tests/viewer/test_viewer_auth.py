"""viewer.auth_token: the page and the socket need it; the sign-in form never puts it in a URL."""

from __future__ import annotations

import logging
import socket
from typing import Any

import httpx
import pytest
import websocket
from flask.testing import FlaskClient

from tests.live_viewer import FixedClock
from tests.viewer_rig import NS, T0, Rig, connect, recv
from viewer.app import ViewerSettings, create_app
from viewer.auth import (
    SESSION_COOKIE,
    WRONG_TOKEN_BURST,
    WRONG_TOKEN_PER_MINUTE,
    ViewerAuth,
    client_key,
    safe_next,
)
from viewer.server import ViewerServer

TOKEN = "correct horse battery staple"


@pytest.fixture
def client(rig: Rig) -> FlaskClient:
    app = create_app(
        rig.store,
        rig.clock,
        rig.feed,
        ViewerSettings(ttl_seconds=60, sampling_summary="", auth_token=TOKEN),
    )
    return app.test_client()


def sign_in(client: FlaskClient, token: str, **headers: str) -> Any:
    return client.post("/login", data={"token": token, "next": "/logs?q=x"}, headers=headers)


def test_without_the_token_the_page_sends_you_to_the_sign_in_form(client: FlaskClient) -> None:
    response = client.get("/logs?service=api")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Flogs%3Fservice%3Dapi"
    form = client.get("/login?next=/logs%3Fservice%3Dapi")
    assert form.status_code == 200
    assert b'method="post"' in form.data and b'type="password"' in form.data
    assert client.get("/static/logs.css").status_code == 200  # code is not secret


def test_a_wrong_token_is_refused_and_sets_nothing(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = sign_in(client, "correct horse battery stapler")
    assert response.status_code == 401
    assert b"That token is not right." in response.data
    assert "Set-Cookie" not in response.headers
    assert client.get("/logs").status_code == 302
    assert "stapler" not in caplog.text


def test_the_right_token_sets_a_strict_cookie_that_is_not_the_token(client: FlaskClient) -> None:
    response = sign_in(client, TOKEN)
    assert response.status_code == 302
    assert response.headers["Location"] == "/logs?q=x"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "horse" not in cookie
    assert client.get("/logs").status_code == 200


def test_a_bearer_header_opens_the_page_for_programs(client: FlaskClient) -> None:
    assert client.get("/logs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/logs", headers={"Authorization": "Bearer nope"}).status_code == 302


def test_sign_in_from_another_site_is_refused(client: FlaskClient) -> None:
    assert sign_in(client, TOKEN, Origin="http://evil.example").status_code == 403
    assert (
        sign_in(client, TOKEN, **{"Origin": "null", "Sec-Fetch-Site": "cross-site"}).status_code
        == 403
    )
    assert (
        sign_in(client, TOKEN, **{"Origin": "null", "Sec-Fetch-Site": "same-origin"}).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [
        ("/logs?severity=ERROR", "/logs?severity=ERROR"),
        ("//evil.example/logs", "/logs"),
        ("https://evil.example/logs", "/logs"),
        ("/logs\\@evil.example", "/logs"),
        ("/admin", "/logs"),
        (None, "/logs"),
    ],
)
def test_after_sign_in_only_a_page_of_this_viewer_is_a_destination(
    target: str | None, goes_to: str
) -> None:
    assert safe_next(target) == goes_to


def test_the_token_is_masked_in_repr() -> None:
    assert TOKEN not in repr(ViewerAuth(TOKEN, FixedClock(T0)))


def test_the_socket_needs_the_token_too(rig: Rig) -> None:
    server = rig.serve(auth_token=TOKEN)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(server)
    assert refused.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(server, cookie=f"{SESSION_COOKIE}=forged")
    ws = connect(server, header=[f"Authorization: Bearer {TOKEN}"])
    assert "hello" in recv(ws)
    ws.close()
    cookie = ViewerAuth(TOKEN, rig.clock).session_value
    ws = connect(server, cookie=f"{SESSION_COOKIE}={cookie}")
    assert "hello" in recv(ws)
    ws.close()


def test_without_a_token_configured_the_viewer_is_open(rig: Rig) -> None:
    app = create_app(
        rig.store, rig.clock, rig.feed, ViewerSettings(ttl_seconds=60, sampling_summary="")
    )
    assert app.test_client().get("/logs").status_code == 200


# -- wrong tokens are rate limited per client address, on a real server ----------------------


def _from(address: str, server: ViewerServer) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=10)


def _sign_in(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/login", data={"token": token, "next": "/logs"})


def test_past_the_limit_a_wrong_token_gets_429_and_even_the_right_one_is_not_compared(
    rig: Rig,
) -> None:
    server = rig.serve(auth_token=TOKEN)
    with _from("127.0.0.2", server) as guesser, _from("127.0.0.3", server) as user:
        codes = [_sign_in(guesser, f"guess number {n:08}").status_code for n in range(20)]
        assert codes == [401] * WRONG_TOKEN_BURST + [429] * (20 - WRONG_TOKEN_BURST)
        refused = _sign_in(guesser, TOKEN)  # right, but not even compared
        assert refused.status_code == 429
        assert b"Too many wrong tokens" in refused.content
        wait_s = int(refused.headers["Retry-After"])
        assert wait_s == 60 // WRONG_TOKEN_PER_MINUTE
        assert _sign_in(user, TOKEN).status_code == 302  # another address is not held back
        rig.clock.now += (wait_s - 1) * NS
        assert _sign_in(guesser, TOKEN).status_code == 429
        rig.clock.now += 1 * NS
        assert _sign_in(guesser, TOKEN).status_code == 302


def test_the_right_token_is_never_limited(rig: Rig) -> None:
    server = rig.serve(auth_token=TOKEN)
    with _from("127.0.0.4", server) as user:
        codes = {_sign_in(user, TOKEN).status_code for _ in range(3 * WRONG_TOKEN_BURST)}
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        codes |= {user.get("/logs", headers=bearer).status_code for _ in range(WRONG_TOKEN_BURST)}
    assert codes == {302, 200}


def test_wrong_bearer_tokens_count_too_and_the_socket_is_refused_with_429(rig: Rig) -> None:
    server = rig.serve(auth_token=TOKEN)
    with _from("127.0.0.5", server) as program:
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        codes = [program.get("/logs", headers=wrong).status_code for _ in range(WRONG_TOKEN_BURST)]
        assert codes == [302] * WRONG_TOKEN_BURST  # as before: to the sign-in form
        refused = program.get("/logs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert _sign_in(program, TOKEN).status_code == 429  # one limit for form and header
    sock = socket.create_connection(_host_port(server), source_address=("127.0.0.5", 0))
    with pytest.raises(websocket.WebSocketBadStatusException) as raised:
        connect(server, header=[f"Authorization: Bearer {TOKEN}"], socket=sock)
    assert raised.value.status_code == 429


def _host_port(server: ViewerServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def test_a_signed_in_page_is_not_held_back_by_its_addresss_wrong_tokens(rig: Rig) -> None:
    server = rig.serve(auth_token=TOKEN)
    with _from("127.0.0.6", server) as browser:
        assert _sign_in(browser, TOKEN).status_code == 302  # the cookie is kept
        for _ in range(WRONG_TOKEN_BURST + 1):
            _sign_in(browser, "somebody else guessing")
        assert browser.get("/logs").status_code == 200


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # one host may hold the whole /64
        (None, "unknown"),
    ],
)
def test_wrong_tokens_are_counted_per_address_and_per_ipv6_64(
    address: str | None, key: str
) -> None:
    assert client_key(address) == key
