"""Connections a client holds open, bounded in number and time: uvicorn's HTTP/1.1 protocol
(h11) with a deadline for each request and a cap on open connections.

A connection that has not sent a whole request (headers and body) within the deadline is
answered 408 (or closed, mid-body) and closed; past the cap, the oldest connection that is
not being answered is closed to make room, so that slow clients holding connections open
cannot keep others out. The event loop's log line for a failed accept (no descriptors left)
is let through once a minute at most.
"""
import logging
import time

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# a whole request (headers and body) within this many seconds; past it, 408
REQUEST_SECONDS = 10.0
# open connections at most; past it the oldest idle one is closed
MOST_CONNECTIONS = 1000
# the event loop's accept failures are logged at most once this many seconds
ACCEPT_ERRORS_EVERY = 60.0

TIMED_OUT = (b'{"error": "the request did not arrive whole in time"}')


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline per request and a cap on connections (the class
    attributes; guarded_protocol makes a class with other values)."""

    request_seconds = REQUEST_SECONDS
    most_connections = MOST_CONNECTIONS

    def connection_made(self, transport):
        super().connection_made(transport)
        self.opened = time.monotonic()
        self.deadline = None
        self.arm()
        if len(self.connections) > self.most_connections:
            self.make_room()

    def connection_lost(self, exc):
        self.disarm()
        super().connection_lost(exc)

    def data_received(self, data):
        super().data_received(data)
        if self.whole_request():
            self.disarm()

    def on_response_complete(self):
        super().on_response_complete()
        if not self.transport.is_closing():
            self.arm()  # the next request on this connection gets a deadline of its own

    def whole_request(self):
        return (self.cycle is not None and not self.cycle.response_complete
                and not self.cycle.more_body)

    def arm(self):
        self.disarm()
        self.deadline = self.loop.call_later(self.request_seconds, self.too_slow)

    def disarm(self):
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def too_slow(self):
        self.deadline = None
        if self.transport.is_closing() or self.whole_request():
            return
        if self.cycle is None or self.cycle.response_complete:
            # no request under way: nothing of ours has been sent, a 408 can be
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: "
                                 b"application/json\r\nconnection: close\r\ncontent-length: "
                                 + str(len(TIMED_OUT)).encode() + b"\r\n\r\n" + TIMED_OUT)
        else:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.conn = h11.Connection(h11.SERVER)  # nothing more is read from it
        self.transport.close()

    def make_room(self):
        """Close the oldest connection that is not being answered (this one, if none is)."""
        idle = [other for other in self.connections
                if other.cycle is None or other.cycle.response_complete]
        if idle:
            oldest = min(idle, key=lambda other: getattr(other, "opened", 0.0))
            oldest.disarm()
            oldest.transport.close()


def guarded_protocol(requestSeconds=REQUEST_SECONDS, mostConnections=MOST_CONNECTIONS):
    """A GuardedH11Protocol class with these limits (uvicorn takes a class)."""
    if not 0 < requestSeconds < float("inf") or mostConnections < 1:
        raise ValueError("the request deadline must be a positive number of seconds and the "
                         "connection cap at least 1")
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"request_seconds": float(requestSeconds),
                 "most_connections": int(mostConnections)})


class OnceInAWhile(logging.Filter):
    """Let a log record about a failed accept through at most once every `every` seconds: with
    no descriptors left the event loop logs one a second for as long as it lasts."""

    def __init__(self, every=ACCEPT_ERRORS_EVERY):
        super().__init__()
        (self.every, self.last) = (every, None)

    def filter(self, record):
        if "accept" not in record.getMessage():
            return True
        now = time.monotonic()
        if self.last is not None and now - self.last < self.every:
            return False
        self.last = now
        return True


def quiet_accept_errors():
    """Install OnceInAWhile on asyncio's logger (once) and raise this process's limit of open
    descriptors to its hard limit, so that the connection cap is met before the limit."""
    import resource

    logger = logging.getLogger("asyncio")
    if not any(isinstance(f, OnceInAWhile) for f in logger.filters):
        logger.addFilter(OnceInAWhile())
    (soft, hard) = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
