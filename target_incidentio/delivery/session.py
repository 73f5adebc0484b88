"""The HTTP session: keep-alive pools, TLS always verified, one origin, safe redirects."""

from __future__ import annotations

import copy
import typing as t
from importlib import metadata
from urllib.parse import urljoin, urlsplit

import requests
from typing_extensions import override

from target_incidentio.core.urls import origin as origin_of
from target_incidentio.delivery.deadline import WatchedAdapter

if t.TYPE_CHECKING:
    from requests.models import PreparedRequest, Response
    from requests.sessions import _Settings

MAX_REDIRECTS = 5


def _version() -> str:
    try:
        return metadata.version("target-incidentio")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


USER_AGENT = f"target-incidentio/{_version()}"


class InsecureRedirectError(requests.exceptions.InvalidURL):
    """An https endpoint redirected to plain http, which would expose the request in clear."""


class ForeignOriginError(requests.exceptions.InvalidURL):
    """A request (or a redirect it followed) would leave the one origin the run sends to."""


class DeliverySession(requests.Session):
    """A `requests.Session` that sends only to `origin` and refuses https → http redirects.

    The origin check is the last line of defence, whatever built the URL: each request and
    each redirect hop is checked as it is sent. `requests` already drops `Authorization` when
    a redirect leaves the original host (`Session.should_strip_auth`).
    """

    def __init__(self, origin: str | None = None) -> None:
        super().__init__()
        self.origin = origin_of(origin) if origin else None
        self._environment: dict[tuple[t.Any, ...], _Settings] = {}

    @override
    def send(self, request: PreparedRequest, **kwargs: t.Any) -> Response:
        """Send, unless the URL is on another origin than the run's."""
        url = request.url or ""
        if self.origin is not None and origin_of(url) != self.origin:
            where = "://".join(origin_of(url)[:2])
            msg = (
                f"refused to send to {where}: requests go only to "
                f"{self.origin[0]}://{self.origin[1]}:{self.origin[2]}"
            )
            raise ForeignOriginError(msg, request=request)
        return super().send(request, **kwargs)

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: t.Any,  # noqa: ANN401 - requests' own loose types
        stream: t.Any,  # noqa: ANN401
        verify: t.Any,  # noqa: ANN401
        cert: t.Any,  # noqa: ANN401
    ) -> _Settings:
        """Read proxies, netrc and CA bundle from the environment once per host, not per call.

        `requests` re-reads them on every request, about a tenth of the CPU of a call; the
        environment does not change during a run.
        """
        text = url.decode() if isinstance(url, bytes) else url or ""
        parts = urlsplit(text)
        key = (parts.scheme, parts.netloc, repr(proxies), stream, repr(verify), repr(cert))
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
        return copy.copy(self._environment[key])

    def get_redirect_target(self, resp: Response) -> str | None:
        """Follow a redirect only if it does not downgrade from https to http."""
        target = super().get_redirect_target(resp)
        if target is not None and resp.url:
            resolved = urljoin(resp.url, target)
            if urlsplit(resp.url).scheme == "https" and urlsplit(resolved).scheme == "http":
                resp.close()
                msg = f"refused redirect from https to plain http ({urlsplit(resolved).netloc})"
                raise InsecureRedirectError(msg, response=resp)
        return target


def make_session(
    pool_size: int, *, user_agent: str = USER_AGENT, origin: str | None = None
) -> requests.Session:
    """A session whose pool keeps one keep-alive connection per worker thread.

    With `origin` (a URL), nothing is ever sent anywhere else.
    """
    session = DeliverySession(origin)
    session.verify = True  # never switched off, whatever the environment says
    session.max_redirects = MAX_REDIRECTS
    session.headers["User-Agent"] = user_agent
    adapter = WatchedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
