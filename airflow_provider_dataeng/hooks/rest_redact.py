"""Keep credentials out of URLs, log lines, error messages and XCom.

Two layers: query parameters whose *name* looks secret (``api_key``, ``access_token``, ...) or is a
configured API-key parameter are replaced by ``***``, and every known secret *value* (password, token,
client secret, fetched OAuth token) is replaced wherever it appears in a string.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_NAME_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "api-key",
    "signature",
    "credential",
    "private",
)
_SECRET_NAMES = {"key", "sig", "code", "auth", "authorization", "pwd", "access_key", "session"}


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_NAME_PARTS)


class Redactor:
    """Redacts the secrets one hook knows about; ``add`` registers values learnt at run time."""

    def __init__(self, secrets: Iterable[str | None] = (), secret_params: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._params = {p.lower() for p in secret_params}
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(str(secret)) >= 3:
            self._secrets.add(str(secret))

    def add_param(self, name: str) -> None:
        """Treat query parameter ``name`` as secret (e.g. the configured API-key parameter)."""
        self._params.add(name.lower())

    def is_secret_param(self, name: str) -> bool:
        """Whether query parameter ``name`` carries a secret (by its name, or configured as one)."""
        return is_secret_name(name) or name.lower() in self._params

    def text(self, value: object) -> str:
        """Any string (log line, error body excerpt) with every known secret value masked."""
        result = str(value)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in result:
                result = result.replace(secret, MASK)
        return result

    def url(self, url: str) -> str:
        """A URL without userinfo password and with secret-looking query values masked."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.text(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            pairs = [(k, MASK if self.is_secret_param(k) else v) for k, v in pairs]
            query = urlencode(pairs, safe="*")
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))
