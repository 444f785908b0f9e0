"""viewer.auth_token: the page and the socket need it; the sign-in form never puts it in a URL."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import websocket
from flask.testing import FlaskClient

from tests.viewer_rig import Rig, connect, recv
from viewer.app import create_app
from viewer.auth import SESSION_COOKIE, ViewerAuth, safe_next

TOKEN = "correct horse battery staple"


@pytest.fixture
def client(rig: Rig) -> FlaskClient:
    app = create_app(
        rig.store, rig.clock, rig.feed, ttl_seconds=60, sampling_summary="", auth_token=TOKEN
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
    assert TOKEN not in repr(ViewerAuth(TOKEN))


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
    cookie = ViewerAuth(TOKEN).session_value
    ws = connect(server, cookie=f"{SESSION_COOKIE}={cookie}")
    assert "hello" in recv(ws)
    ws.close()


def test_without_a_token_configured_the_viewer_is_open(rig: Rig) -> None:
    app = create_app(rig.store, rig.clock, rig.feed, ttl_seconds=60, sampling_summary="")
    assert app.test_client().get("/logs").status_code == 200
