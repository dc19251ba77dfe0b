"""The serving script's command line: what it serves, where, and the limits that keep it up
under attack (docs/serving.md, "Behind a reverse proxy"): a token for writes, the Host names
it answers to, the size of what it reads and how long it waits for it."""
import argparse
import os

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument
from pyimagesearch.search.index import INDEX_KINDS
from pyimagesearch.serving.connections import MOST_CONNECTIONS, REQUEST_SECONDS
from pyimagesearch.serving.guard import TOKEN_VARIABLE
from pyimagesearch.serving.server import MOST_BYTES
from pyimagesearch.serving.uploads import MOST_DECODED_BYTES


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Serve a trained siamese model over HTTP: /compare two images, /search a "
                    "gallery, /gallery to enrol or remove an image; a page to try it at /.")
    ap.add_argument("--model", default=config.MODEL_PATH,
                    help=f"the trained SavedModel directory (default: {config.MODEL_PATH})")
    ap.add_argument("--gallery", default=None,
                    help="folder of known images in class subfolders, for /search and "
                         "/gallery (default: none, /compare only)")
    ap.add_argument("--index-file", default=None, metavar="PATH",
                    help="the gallery's index (default: the search script's, in "
                         f"{config.BASE_OUTPUT})")
    ap.add_argument("--index", choices=INDEX_KINDS, default="auto",
                    help="exact search or faiss's approximate index, as the search script's "
                         "(default: auto)")
    ap.add_argument("--threshold", type=float, default=None,
                    help="nearest-neighbour distance from which a query is 'unknown' "
                         "(default: calibrated on the gallery)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only)")
    ap.add_argument("--port", type=int, default=8000,
                    help="port to listen on; 0 takes a free one (default: 8000)")
    ap.add_argument("--most-bytes", type=int, default=MOST_BYTES,
                    help=f"largest request body taken, in bytes; larger ones get 413 "
                         f"(default: {MOST_BYTES:,}, 10 MB)")
    ap.add_argument("--batch-window", type=float, default=2.0, metavar="MS",
                    help="milliseconds a request waits for others to be scored with it; 0 "
                         "scores each request alone (default: 2)")
    ap.add_argument("--workers", type=int, default=1,
                    help="server processes, each with the model loaded (default: 1)")
    ap.add_argument("--token", default=None,
                    help="the token that writes to the gallery (POST /gallery, DELETE) must "
                         "send as 'Authorization: Bearer TOKEN' (default: "
                         f"${TOKEN_VARIABLE} when set, else a random one, printed once at "
                         "start; the page at / sends it itself)")
    ap.add_argument("--allowed-hosts", nargs="+", default=[], metavar="NAME",
                    help="Host names (or name:port) the server answers to besides "
                         "127.0.0.1, localhost and [::1]: the names clients reach it by "
                         "through a reverse proxy or on a network; * answers any (default: "
                         "none)")
    ap.add_argument("--most-gallery-images", type=int, default=None, metavar="N",
                    help="refuse enrolments (409) once the gallery holds N images (default: "
                         "no limit)")
    ap.add_argument("--most-decoded-mb", type=float, default=MOST_DECODED_BYTES / 2 ** 20,
                    metavar="MB",
                    help="refuse (413) an image that would decode to more than this many "
                         "megabytes (pixels x channels x bytes a sample), read off its header "
                         f"(default: {MOST_DECODED_BYTES / 2 ** 20:g})")
    ap.add_argument("--request-timeout", type=float, default=REQUEST_SECONDS,
                    metavar="SECONDS",
                    help="a connection that has not sent a whole request (headers and body) "
                         "within this many seconds is answered 408 and closed (default: "
                         f"{REQUEST_SECONDS:g})")
    ap.add_argument("--most-connections", type=int, default=MOST_CONNECTIONS, metavar="N",
                    help="open connections at most; past it the oldest one that is not being "
                         f"answered is closed (default: {MOST_CONNECTIONS})")
    add_verbose_argument(ap)
    args = ap.parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0 to 65535, got {args.port}")
    if args.most_bytes < 1 or args.batch_window < 0 or args.workers < 1:
        raise ValueError("--most-bytes and --workers must be at least 1, --batch-window at "
                         "least 0")
    if args.workers > 1 and args.port == 0:
        raise ValueError("--workers needs a --port of its own (not 0)")
    if not 0 < args.request_timeout < float("inf") or args.most_connections < 1:
        raise ValueError("--request-timeout must be a positive number of seconds, "
                         "--most-connections at least 1")
    if not 0 < args.most_decoded_mb < float("inf") or (
            args.most_gallery_images is not None and args.most_gallery_images < 2):
        raise ValueError("--most-decoded-mb must be a positive number, --most-gallery-images "
                         "at least 2")
    args.token = args.token or os.environ.get(TOKEN_VARIABLE) or None
    return args


