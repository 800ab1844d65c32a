"""The gateway's one pooled client to the upstream model, with the HTTP backend's retry rules.

aiohttp, not httpx (which the rest of opentrust uses): the gateway makes one upstream call per request, and on the
load benchmark's fixed upstream httpx spent about 0.9 ms of CPU per call against aiohttp's 0.1 ms — a third of the
gateway's whole CPU per request, on a 2-core target of 200 requests/s (``benchmarks/guard_load.py --clients``
measures both). What the gateway needs from a response is wrapped in
``UpstreamResponse`` so that the proxy code does not depend on the client library.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import aiohttp

from opentrust.backends.openai_http import RETRY_STATUS, backoff_delay

#: Errors of one attempt that are retried, as the HTTP backend retries httpx's transport errors: refused or dropped
#: connections, broken bodies, timeouts.
TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError))


class Unreachable(Exception):
    """The upstream did not answer any attempt (connection errors or timeouts)."""

    def __init__(self, error: str, timed_out: bool):
        super().__init__(error)
        self.error, self.timed_out = error, timed_out


class UpstreamResponse:
    """An upstream answer: status, headers, and the body read whole (``content``) or as lines (``aiter_lines``)."""

    def __init__(self, resp: aiohttp.ClientResponse, content: bytes | None = None):
        self._resp = resp
        self.status_code = resp.status
        self.headers = resp.headers  # case-insensitive, repeated headers kept
        self.reason_phrase = resp.reason or ""
        self.content = content if content is not None else b""
        self._read = content is not None

    def json(self) -> Any:
        return json.loads(self.content)

    async def aread(self) -> bytes:
        if not self._read:
            self.content, self._read = await self._resp.read(), True
        return self.content

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body's lines as they arrive (without their line ends). Split here rather than with aiohttp's
        ``readline``, which refuses lines over 64 KiB — a long server-sent event is still one event."""
        pending: list[bytes] = []  # the pieces of an unfinished line, joined once it ends (no quadratic growth)
        async for data in self._resp.content.iter_any():
            if b"\n" not in data:
                pending.append(data)
                continue
            *lines, rest = (b"".join(pending) + data).split(b"\n")
            pending = [rest]
            for line in lines:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        tail = b"".join(pending)
        if tail:
            yield tail.rstrip(b"\r").decode("utf-8", "replace")
        self._read = True

    async def finish(self, timeout_s: float = 0.2) -> None:
        """After the stream's last event: read what is left of the body (the chunked terminator) so that the
        connection goes back to the pool; closed instead when that does not come within ``timeout_s``."""
        if not self._read:
            try:
                await asyncio.wait_for(self._resp.content.read(), timeout_s)
                self._read = True
            except (*TRANSIENT, ValueError):
                pass
        await self.aclose()

    async def aclose(self) -> None:
        """Give the connection back to the pool when the body was read, else close it (a stream cut short)."""
        if self._read:
            self._resp.release()
        else:
            self._resp.close()


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP(S)_PROXY, unless NO_PROXY covers its host), as httpx
    applies them elsewhere in opentrust. Resolved once: aiohttp's ``trust_env`` re-reads the environment and
    ``~/.netrc`` on every request, several times the CPU of the call itself (``benchmarks/guard_load.py --clients``).
    """
    from urllib.parse import urlsplit
    from urllib.request import getproxies_environment, proxy_bypass_environment

    parts = urlsplit(url)
    if not parts.hostname or proxy_bypass_environment(parts.hostname):
        return None
    return getproxies_environment().get(parts.scheme)


@dataclass
class Upstream:
    base_url: str  # http://host:port/v1
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = 120.0
    retries: int = 2
    backoff_base_s: float = 0.5
    session: aiohttp.ClientSession | None = field(default=None, repr=False)
    proxy: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.proxy = env_proxy(self.base_url)

    def open(self) -> aiohttp.ClientSession:
        """The pooled session (made on first use: it belongs to the serving event loop)."""
        if self.session is None or self.session.closed:
            # timeout_s bounds each wait for the upstream (connect, then each read), as httpx's timeout does in
            # the HTTP backend; a stream may run longer than timeout_s in all as long as tokens keep coming
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512, limit_per_host=0, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=None, connect=min(10.0, self.timeout_s),
                                              sock_read=self.timeout_s))
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    async def send(self, method: str, path: str, payload: bytes | None, headers: dict[str, str],
                   stream: bool = False) -> UpstreamResponse:
        """One call with retries (transient errors, 408/409/425/429/5xx with the HTTP backend's backoff and
        Retry-After). The final answer — 2xx, or the upstream's own error after the retries — or ``Unreachable``.
        ``stream``: the body is left unread for ``aiter_lines`` (retried only before any byte of it arrived)."""
        session = self.open()
        url = self.url(path)
        last: UpstreamResponse | None = None
        error, timed_out = "", False
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                resp = await session.request(method, url, data=payload, headers=headers, allow_redirects=False,
                                             proxy=self.proxy)
                try:
                    out = UpstreamResponse(resp, None if stream and resp.status not in RETRY_STATUS
                                           else await resp.read())
                except BaseException:
                    resp.close()
                    raise
            except TRANSIENT as exc:
                timed_out = is_timeout(exc)
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                last = None
            else:
                if out.status_code not in RETRY_STATUS:
                    return out
                if last is not None:
                    await last.aclose()
                last, retry_after = out, out.headers.get("retry-after")
            if attempt < self.retries:
                await asyncio.sleep(backoff_delay(attempt, retry_after, self.backoff_base_s))
        if last is not None:
            return last  # the upstream's own error after the retries, passed through
        raise Unreachable(error, timed_out)
