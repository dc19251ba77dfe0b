"""What a web page cannot make a browser do to the server: ASGI middleware that refuses a
request whose Host is not a name the server answers to (DNS rebinding: a page of another
site whose name is made to lead to this machine), any request but a read whose Origin is not
the server's own (a form or script of another site), and a write to the gallery (POST
/gallery, DELETE) without the server's token."""
import secrets

# the names every server on this machine answers to, besides the address it listens on
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
READS = ("GET", "HEAD", "OPTIONS")
# the environment variable a token may come from (--token takes precedence)
TOKEN_VARIABLE = "SIAMESE_SERVE_TOKEN"


def new_token():
    """A random token, as Jupyter makes one when none is given."""
    return secrets.token_urlsafe(24)


def is_write(method, path):
    return (method == "POST" and path.rstrip("/") == "/gallery") or method == "DELETE"


class RequestGuard:
    """ASGI middleware answering 403 for a Host outside allowedHosts (names, or name:port;
    "*" takes any) or a foreign Origin on anything but a read, and 401 for a write without
    `Authorization: Bearer TOKEN`. The port of a Host must be the server's, when it is known
    (port None: any)."""

    def __init__(self, app, token, allowedHosts=(), port=None):
        (self.app, self.token, self.port) = (app, token, port)
        self.hosts = {name.lower() for name in (*LOCAL_NAMES, *allowedHosts)}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {key: value.decode("latin-1") for (key, value) in scope["headers"]}
        host = headers.get(b"host", "")
        if not self.host_allowed(host):
            return await refuse(send, 403, f"the Host {host!r} is not a name this server "
                                           f"answers to (--allowed-hosts)")
        origin = headers.get(b"origin")
        if scope["method"] not in READS and origin is not None and not origin_is(origin,
                                                                                   host):
            return await refuse(send, 403, f"requests from {origin} are refused: only the "
                                           f"server's own page may send them")
        if is_write(scope["method"], scope["path"]) and not self.token_given(headers):
            return await refuse(send, 401, "writing to the gallery needs the server's token: "
                                           "send the header 'Authorization: Bearer TOKEN'",
                                {"www-authenticate": "Bearer"})
        return await self.app(scope, receive, send)

    def host_allowed(self, host):
        if "*" in self.hosts:
            return True
        (name, port) = split_host(host.lower())
        if self.port is not None and port is not None and port != self.port:
            return False
        return bool(name) and (name in self.hosts or f"{name}:{port}" in self.hosts)

    def token_given(self, headers):
        (scheme, _, given) = headers.get(b"authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            given.strip().encode(), self.token.encode())


def split_host(host):
    """(name, port or None) of a Host header: "[::1]:8000" is ("[::1]", 8000)."""
    (name, colon, port) = host.rpartition(":")
    if not colon or name.endswith(":") or (host.startswith("[") and not name.endswith("]")):
        return host, None
    return name, int(port) if port.isdigit() else -1


def origin_is(origin, host):
    """Whether a request's Origin is the server's own page: http(s)://the Host it was sent to."""
    return origin.lower() in (f"http://{host.lower()}", f"https://{host.lower()}")


async def refuse(send, status, message, extra=None):
    from starlette.responses import JSONResponse

    response = JSONResponse({"error": message}, status_code=status, headers=extra)
    await response({"type": "http"}, None, send)
