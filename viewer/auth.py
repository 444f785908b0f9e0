"""viewer.auth_token: the page and its socket for token holders only.

A browser cannot put a header on a page load, and a token in a URL ends up in history,
proxies and access logs, so the page asks for the token once in a form (POST, so it is in no
URL or request line) and answers with an HttpOnly, SameSite=Strict session cookie. The
cookie holds an HMAC of the token, not the token: it can be revoked by changing the token
and reveals nothing if read. Programs (`logsieve tail`) send `Authorization: Bearer TOKEN`.
Every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlencode, urlsplit

from flask import Flask, Request, abort, redirect, render_template, request
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

SESSION_COOKIE = "logsieve_viewer"
LOGIN_PATH = "/login"
# Reachable without the token: the sign-in form itself and the page's static code.
OPEN_PREFIXES = (LOGIN_PATH, "/static/")


class ViewerAuth:
    """Holds the token; `None` means the viewer is open to anyone who can reach it."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else b""
        self._session = (
            hmac.new(self._token, b"logsieve viewer session v1", hashlib.sha256).hexdigest()
            if token
            else ""
        )

    def __repr__(self) -> str:
        return f"ViewerAuth(token={'***' if self._token else None})"

    @property
    def enabled(self) -> bool:
        return bool(self._token)

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    @property
    def session_value(self) -> str:
        return self._session

    def allows(self, req: Request) -> bool:
        if not self.enabled:
            return True
        scheme, _, credentials = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(credentials.strip()):
            return True
        cookie = req.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self._session.encode())


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of this viewer (no open redirect)."""
    if not target:
        return "/logs"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/logs") or "\\" in target:
        return "/logs"
    return target


def same_origin(origin: str, host: str) -> bool:
    """True when an Origin header names the host the request was sent to."""
    try:
        parsed_origin = urlsplit(origin)
        parsed_host = urlsplit("//" + host)
        return parsed_origin.scheme in ("http", "https") and _host_port(
            parsed_origin.hostname, parsed_origin.port, parsed_origin.scheme
        ) == _host_port(parsed_host.hostname, parsed_host.port, parsed_origin.scheme)
    except ValueError:  # a malformed port or bracket: not an origin we can trust
        return False


def _host_port(hostname: str | None, port: int | None, scheme: str) -> tuple[str, int]:
    default = 443 if scheme == "https" else 80
    return (hostname or "", port or default)


def _from_another_site(req: Request) -> bool:
    # With Referrer-Policy no-referrer a browser sends `Origin: null` even for our own form,
    # so the browser's Sec-Fetch-Site says where the post came from; Origin is checked when
    # it names a site.
    if req.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = req.headers.get("Origin", "null")
    return origin != "null" and not same_origin(origin, req.host)


def install(app: Flask, auth: ViewerAuth) -> None:
    """Guard every route but the sign-in form and static files, and add the form."""

    @app.before_request
    def require_token() -> Response | None:
        if auth.allows(request) or request.path.startswith(OPEN_PREFIXES):
            return None
        if request.path == "/logs/stream" or request.method != "GET":
            abort(401)
        next_path = request.full_path.rstrip("?")
        return redirect(f"{LOGIN_PATH}?{urlencode({'next': next_path})}")

    @app.get(LOGIN_PATH)
    def login_form() -> str:
        return render_template("login.html", next=safe_next(request.args.get("next")), error="")

    @app.post(LOGIN_PATH)
    def login() -> Response | tuple[str, int]:
        if _from_another_site(request):
            abort(403)  # another site posting a token guess on a visitor's behalf
        next_path = safe_next(request.form.get("next"))
        if not auth.enabled:
            return redirect(next_path)
        if not auth.token_matches(request.form.get("token", "")):
            log.warning("viewer sign-in refused from %s", request.remote_addr)
            page = render_template("login.html", next=next_path, error="That token is not right.")
            return page, 401
        response = redirect(next_path)
        response.set_cookie(
            SESSION_COOKIE,
            auth.session_value,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
        return response
