"""Secrets out of every text logsieve stores or shows: its log, export errors, dead-letter
reasons, `logsieve status`, the live page's Status frame.

Text from outside (Logflare's answer, a proxy's error page) can echo a secret back: a verbose
401 quoting the API key, a gateway page repeating the request's headers. A Redactor replaces
every configured secret (also as it looks percent-, JSON- or HTML-escaped) and anything shaped
like a credential (`Bearer …`, `api_key=…`, `"token": "…"`, a password in a URL, a JWT) by
`***`. Run it on the whole text, then shorten: cutting first could leave half a secret. A text
that arrived cut (Logflare's answer is read up to a cap) is masked with `cut=True`: if it ends
in the first characters of a secret, they are masked too.

Each process installs one Redactor for its config at start (`install`, done where the logs
are configured); `text` uses it, so code that never sees the config (the viewer, the store)
still masks the configured secrets.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_PARTIAL_CHARS = 4  # a text cut inside a secret: its last 4+ characters may start one
_QUOTE = r"""\\?["']"""
# Names under which credentials travel: api_key, X-API-KEY, access_token, password, ...
_NAME = (
    r"(?:x[-_]?)?(?:api[-_ ]?key|apikey|access[-_]?key|secret[-_]?key|client[-_]?secret"
    r"|(?:access|auth|refresh|id|session|bearer)[-_]?token|token|secret|password|passwd"
    r"|authorization|auth)"
)
_NAMED = re.compile(
    rf"""(?ix)
    (?P<name>(?<![\w.-]){_QUOTE}?[\w.-]*?{_NAME}{_QUOTE}?)  # the name, maybe quoted
    (?P<sep>\s*(?:=|:|%3D)\s*)                      # = or : (or = percent-encoded)
    (?P<open>\\?(?P<quote>["']))?                   # the value's opening quote, if any
    (?P<scheme>(?:bearer|basic|token)\s+)?          # Authorization: Bearer ... keeps "Bearer"
    (?P<value>(?(quote)(?:(?!\\?(?P=quote)).)+|[^\s"'&,;<>(){{}}\[\]\\]+))
    """
)
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[\w\-.~+/]+=*")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+@")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")


def _masked_value(match: re.Match[str]) -> str:
    found = match.groupdict(default="")
    return found["name"] + found["sep"] + found["open"] + found["scheme"] + MASK


def mask_shapes(text: str) -> str:
    """Anything shaped like a credential, whether or not anyone configured it."""
    text = _NAMED.sub(_masked_value, text)
    text = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    return _JWT.sub(MASK, text)


def _spellings(secret: str) -> set[str]:
    """A secret as it may appear in a URL, a JSON string or an HTML page."""
    in_url = {quote(secret), quote(secret, safe=""), quote_plus(secret)}
    return {secret, json.dumps(secret)[1:-1], html.escape(secret)} | in_url


class Redactor:
    """Masks the given secrets and every credential-shaped substring of a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        given = {secret for secret in secrets if secret}
        spelled = {form for secret in given for form in _spellings(secret)}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(spelled, key=len, reverse=True)
        self._prefixes = sorted(
            (s for s in given if len(s) > MIN_PARTIAL_CHARS), key=len, reverse=True
        )

    def __call__(self, text: str, cut: bool = False) -> str:
        """`text` masked; `cut`: it was cut short, maybe inside a secret."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return mask_shapes(self._mask_cut_secret(text) if cut else text)

    def _mask_cut_secret(self, text: str) -> str:
        """A text that was cut inside a secret ends with its first characters: mask them.
        (Only for a text known to be cut: "logsieve started: viewer" must stay as it is.)"""
        for secret in self._prefixes:
            for size in range(min(len(secret) - 1, len(text)), MIN_PARTIAL_CHARS - 1, -1):
                if text.endswith(secret[:size]):
                    return text[:-size] + MASK
        return text


_installed = Redactor()


def install(secrets: Iterable[str]) -> Redactor:
    """Make this process's redactor mask these secrets (every secret of its config)."""
    global _installed
    _installed = Redactor(secrets)
    return _installed


def text(value: str, cut: bool = False) -> str:
    """`value` masked by this process's redactor (credential shapes only until `install`)."""
    return _installed(value, cut)
