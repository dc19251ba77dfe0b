"""The HTTP face of pyimagesearch/serving/service.py: a FastAPI application (its OpenAPI page at
/docs) that serve_siamese_network.py runs with uvicorn. Every error is JSON {"error": "..."} with a
4xx status, and the server goes on serving after it."""
import asyncio
import os
import socket
from concurrent.futures import Future

from pyimagesearch.serving.guard import RequestGuard, new_token
from pyimagesearch.serving.uploads import RequestError

# uploads larger than this are refused (413) before they are read whole
MOST_BYTES = 10 * 2 ** 20
PAGE = os.path.join(os.path.dirname(__file__), "page.html")


class BodyLimit:
    """ASGI middleware: a request whose body is (or says it is) larger than mostBytes gets 413
    without being read further."""

    def __init__(self, app, mostBytes=MOST_BYTES):
        (self.app, self.mostBytes) = (app, mostBytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.mostBytes:
            return await self.refuse(send)
        (received, exceeded, started) = (0, False, False)

        async def counted():
            # past the limit the application is told the client left, and its answer to
            # that is replaced by 413 (raising here would reach the form parser as a 400)
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.mostBytes:
                exceeded = True
                return {"type": "http.disconnect"}
            return message

        async def watched(message):
            nonlocal started
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self.refuse(send)

    async def refuse(self, send):
        from starlette.responses import JSONResponse

        response = JSONResponse({"error": f"the request is larger than the server's limit of "
                                          f"{self.mostBytes:,} bytes"}, status_code=413)
        await response({"type": "http"}, None, send)


def listening_socket(host, port):
    """A TCP socket listening on host:port (port 0: a free one). Made with its protocol named:
    asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections of such a socket,
    and without that every answer on a kept-alive connection waits some 40 ms for the
    client's delayed acknowledgement."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(2048)
    except OSError:
        listening.close()
        raise
    return listening


def create_app(service, mostBytes=MOST_BYTES, token=None, allowedHosts=(), port=None):
    """The application answering for service (a SiameseService): writes need token (a new
    one when None), and only the Host names of RequestGuard (with allowedHosts) are
    answered."""
    from fastapi import File, Form, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from fastapi_offline import FastAPIOffline
    from starlette.exceptions import HTTPException

    # the API's page (/docs) from files that the package ships: it works without internet
    app = FastAPIOffline(title="Siamese network", version="1",
                  description="Compare two images, search a gallery, enrol and remove gallery "
                              "images with a trained siamese network.")
    app.add_middleware(BodyLimit, mostBytes=mostBytes)
    # outermost: a request from another site is refused before its body is read
    token = token or new_token()
    app.state.token = token
    app.add_middleware(RequestGuard, token=token, allowedHosts=allowedHosts, port=port)

    @app.exception_handler(RequestError)
    async def refused(request, error):
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, error):
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'][1:])}: {e['msg']}"
                             for e in error.errors())
        return JSONResponse({"error": problems}, status_code=422)

    @app.exception_handler(OSError)
    async def failed_write(request, error):
        # a write that failed (a full disk): the request fails, the connection and the server
        # go on
        print(f"[ERROR] {request.method} {request.url.path}: {error}", flush=True)
        return JSONResponse({"error": f"the server could not answer: "
                                      f"{error.strerror or error}"}, status_code=500)

    @app.exception_handler(Exception)
    async def failed(request, error):
        # a fault of the server's own: JSON too (uvicorn logs its traceback)
        return JSONResponse({"error": "the server could not answer"}, status_code=500)

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        # its headers too: a 405 names the methods allowed (Allow)
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    async def decoded(call, *args):
        """call(*args) in the service's few decoding threads, off the event loop (a large
        image takes seconds), then the Future it returns, if any."""
        answer = await asyncio.wrap_future(service.decoders.submit(call, *args))
        return await asyncio.wrap_future(answer) if isinstance(answer, Future) else answer

    @app.api_route("/health", methods=["GET", "HEAD"])
    def health():
        """The model, its score kind and threshold, and the gallery's size."""
        return service.health()

    # compare and search wait for their batch without holding a thread: the model's own
    # thread answers them (pyimagesearch/serving/batching.py)
    @app.post("/compare")
    async def compare(a: UploadFile = File(...), b: UploadFile = File(...)):
        """How alike two images are: score, verdict, the threshold and the kind of score."""
        return JSONResponse(await decoded(service.compare, await a.read(), await b.read()))

    @app.post("/search")
    async def search(image: UploadFile = File(...), top: int = Form(5)):
        """The gallery images nearest to image, and its class (null: unknown)."""
        return JSONResponse(await decoded(service.search, await image.read(), top,
                                          image.filename or "query"))

    @app.post("/gallery", status_code=201)
    async def enrol(image: UploadFile = File(...), label: str = Form(...)):
        """Add image to the gallery under label (a class, new or known); needs the token."""
        return await decoded(service.enrol, await image.read(), label, image.filename)

    @app.delete("/gallery/{path:path}")
    def remove(path: str):
        """Take the image at path (as /search names it) out of the gallery."""
        return service.remove(path)

    @app.api_route("/gallery/{path:path}", methods=["GET", "HEAD"])
    def gallery_image(path: str):
        """A gallery image, by the path /search names it with."""
        (data, mediaType) = service.gallery_file(path)
        return Response(data, media_type=mediaType)

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse,
                   include_in_schema=False)
    def page():
        # the page sends the token with what it posts: it is served to this server's own
        # Host names only (RequestGuard), which another site's page cannot read
        with open(PAGE, encoding="utf-8") as f:
            return f.read().replace("TOKEN_PLACEHOLDER", token)

    return app


def server_config(app, requestSeconds=None, mostConnections=None, level="warning"):
    """uvicorn's Config for app: HTTP/1.1 with a deadline for each request and a cap on open
    connections (pyimagesearch/serving/connections.py), accept errors logged once in a
    while."""
    import uvicorn

    from pyimagesearch.serving.connections import (
        MOST_CONNECTIONS,
        REQUEST_SECONDS,
        guarded_protocol,
        quiet_accept_errors,
    )

    quiet_accept_errors()
    protocol = guarded_protocol(requestSeconds or REQUEST_SECONDS,
                                mostConnections or MOST_CONNECTIONS)
    return uvicorn.Config(app, http=protocol, log_level=level)
