"""What a web page cannot make the sandbox (or the Telegram stand-in) do.

Both run on a developer's machine while they browse. A page on any other
origin can make the browser send a request to 127.0.0.1: a ``<form>`` or a
``no-cors`` fetch posts ``text/plain`` or form bodies without asking, and a
page whose name is rebound to 127.0.0.1 (DNS rebinding) can even read the
answers. So, for every request, as the servers of local development tools do
(webpack-dev-server's host check, Jupyter's origin and XSRF checks):

* the ``Host`` must name this server: a loopback name or address, the
  address it listens on, or a name allowed at start (``--allow-host``);
  a rebinding page sends its own name and gets 403;
* a control call that changes something (``POST``/``PUT``/``PATCH``/``DELETE``
  under the control prefixes) must carry ``Content-Type: application/json``,
  which a page can send cross-origin only after a CORS preflight that these
  servers never grant, and, if the browser names an ``Origin``, that origin
  must be this server itself.

Test clients (httpx, curl, another language's suite) send JSON with no
``Origin`` and pass; the web inbox, served from the same origin, passes too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

__all__ = ["browser_guard", "host_allowed"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def _hostname(host: str) -> str:
    """``host`` of a Host header or an origin's netloc, without the port, lower case."""
    try:
        return (urlsplit(f"//{host}").hostname or "").lower()
    except ValueError:
        return ""


def host_allowed(host: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Whether a ``Host`` header names this machine's loopback or one of ``allowed`` (lower case)."""
    name = _hostname(host)
    if not name:
        return False
    if name == "localhost" or name.endswith(".localhost") or name in allowed:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _forbidden(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=403)


def browser_guard(control_prefixes: tuple[str, ...], listen_host: str = "127.0.0.1",
                  allow_hosts: Iterable[str] = ()) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The aiohttp middleware for one server listening on ``listen_host``."""
    listen = () if listen_host in _WILDCARDS else (listen_host,)
    allowed = frozenset(h.lower() for h in (*allow_hosts, *listen) if h)

    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not host_allowed(host, allowed):
            return _forbidden(f"host {host[:100]!r} is not this server's name (a page rebinding its name to it?); "
                              "start it with --allow-host NAME to serve that name")
        if request.method in _UNSAFE and request.path.startswith(control_prefixes):
            origin = request.headers.get("Origin")
            if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
                return _forbidden(f"a control call from the page at {origin[:100]!r}, another origin, is refused")
            if request.method != "DELETE" and request.content_type != "application/json":
                return _forbidden("control calls that change something take Content-Type: application/json")
        return await handler(request)

    return guard
