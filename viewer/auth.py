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
import ipaddress
import logging
import math
from urllib.parse import urlencode, urlsplit

from flask import Flask, Request, abort, redirect, render_template, request
from werkzeug.wrappers import Response

from gateway.clock import Clock
from gateway.http.ratelimit import RateLimiter

log = logging.getLogger(__name__)

SESSION_COOKIE = "logsieve_viewer"
LOGIN_PATH = "/login"
# Reachable without the token: the sign-in form itself and the page's static code.
OPEN_PREFIXES = (LOGIN_PATH, "/static/")
# Read by scripts, not opened by people: refused with a 401 they can tell, not sent to the form.
REFUSED_NOT_REDIRECTED = ("/logs/stream", "/logs/patterns", "/logs/context")
# Wrong tokens one address may send: a burst for typos, then a few a minute. A right token
# is never counted, so a user who mistyped signs in as soon as a token is back.
WRONG_TOKEN_BURST = 10
WRONG_TOKEN_PER_MINUTE = 6


class TooManyWrongTokens(Exception):
    """The client sent too many wrong tokens: answered 429, its token not even compared."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many wrong tokens")
        self.retry_after_s = max(1, math.ceil(retry_after_s))


class ViewerAuth:
    """Holds the token; `None` means the viewer is open to anyone who can reach it.

    Wrong tokens are rate limited per client address (IPv6: per /64, what one host is
    given): a burst of WRONG_TOKEN_BURST, then one every 60 / WRONG_TOKEN_PER_MINUTE s.
    A right token costs nothing; up to MAX_TRACKED addresses are remembered."""

    def __init__(self, token: str | None, clock: Clock) -> None:
        self._token = token.encode() if token else b""
        self._session = (
            hmac.new(self._token, b"logsieve viewer session v1", hashlib.sha256).hexdigest()
            if token
            else ""
        )
        self._wrong = RateLimiter(clock, WRONG_TOKEN_PER_MINUTE / 60, WRONG_TOKEN_BURST)

    def __repr__(self) -> str:
        return f"ViewerAuth(token={'***' if self._token else None})"

    @property
    def enabled(self) -> bool:
        return bool(self._token)

    def token_matches(self, candidate: str, client: str | None) -> bool:
        """Whether `candidate` is the token; a wrong one counts against `client`, and past
        its limit TooManyWrongTokens is raised before any comparison."""
        key = client_key(client)
        wait_s = self._wrong.blocked_s(key)
        if wait_s:
            raise TooManyWrongTokens(wait_s)
        if hmac.compare_digest(candidate.encode(), self._token):
            return True
        if self._wrong.spend(key):
            log.warning("viewer: too many wrong tokens from %s; refusing it for a while", key)
        return False

    @property
    def session_value(self) -> str:
        return self._session

    def allows(self, req: Request) -> bool:
        if not self.enabled:
            return True
        cookie = req.cookies.get(SESSION_COOKIE, "")
        if cookie and hmac.compare_digest(cookie.encode(), self._session.encode()):
            return True
        scheme, _, credentials = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return self.token_matches(credentials.strip(), req.remote_addr)


def client_key(address: str | None) -> str:
    """What wrong tokens are counted by: the address, or its /64 for IPv6 (one host may hold
    a whole /64, and would otherwise have 2**64 fresh limits)."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)))
    return str(parsed)


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
        if request.path.startswith(OPEN_PREFIXES) or auth.allows(request):
            return None
        if request.path in REFUSED_NOT_REDIRECTED or request.method != "GET":
            abort(401)
        next_path = request.full_path.rstrip("?")
        return redirect(f"{LOGIN_PATH}?{urlencode({'next': next_path})}")

    app.register_error_handler(TooManyWrongTokens, _too_many_wrong_tokens)

    @app.get(LOGIN_PATH)
    def login_form() -> str:
        return render_template("login.html", next=safe_next(request.args.get("next")), error="")

    @app.post(LOGIN_PATH)
    def login() -> Response | tuple[str, int, dict[str, str]]:
        if _from_another_site(request):
            abort(403)  # another site posting a token guess on a visitor's behalf
        next_path = safe_next(request.form.get("next"))
        if not auth.enabled:
            return redirect(next_path)
        try:
            matches = auth.token_matches(request.form.get("token", ""), request.remote_addr)
        except TooManyWrongTokens as refused:
            error = f"Too many wrong tokens: try again in {refused.retry_after_s} s."
            return _login_page(next_path, error, 429, refused.retry_after_s)
        if not matches:
            log.warning("viewer sign-in refused from %s", request.remote_addr)
            return _login_page(next_path, "That token is not right.", 401)
        response = redirect(next_path)
        response.set_cookie(
            SESSION_COOKIE,
            auth.session_value,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
        return response


def _login_page(
    next_path: str, error: str, status: int, retry_after_s: int | None = None
) -> tuple[str, int, dict[str, str]]:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s else {}
    return render_template("login.html", next=next_path, error=error), status, headers


def _too_many_wrong_tokens(refused: TooManyWrongTokens) -> Response:
    response = Response("too many wrong tokens: try again later\n", 429, mimetype="text/plain")
    response.headers["Retry-After"] = str(refused.retry_after_s)
    return response
