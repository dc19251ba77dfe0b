"""Serve a trained siamese network over HTTP: compare two images, search a gallery, enrol.

USAGE
    python serve_siamese_network.py --model output/small_vgg_siamese_model
    python serve_siamese_network.py --model output/small_vgg_siamese_model --gallery gallery
    curl -F a=@examples/image_00.png -F b=@examples/image_01.png localhost:8000/compare

The model is loaded once; requests that arrive together are scored together. Open
http://127.0.0.1:8000/ to try it in a browser, /docs for the API (docs/serving.md).
"""
# import the necessary packages
import argparse
import gc
import json
import os
import sys

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.models.model_io import check_model_path
from pyimagesearch.search.index import INDEX_KINDS, check_index_kind
from pyimagesearch.serving.server import MOST_BYTES

# where the workers of --workers find their arguments
ARGUMENTS_VARIABLE = "SIAMESE_SERVE_ARGUMENTS"


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
    add_verbose_argument(ap)
    args = ap.parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0 to 65535, got {args.port}")
    if args.most_bytes < 1 or args.batch_window < 0 or args.workers < 1:
        raise ValueError("--most-bytes and --workers must be at least 1, --batch-window at "
                         "least 0")
    if args.workers > 1 and args.port == 0:
        raise ValueError("--workers needs a --port of its own (not 0)")
    return args


def check_args(args):
    """What needs no TensorFlow, checked before it is loaded."""
    check_index_kind(args.index)
    if args.gallery is not None and not os.path.isdir(args.gallery):
        raise FileNotFoundError(f"--gallery folder {args.gallery} does not exist")
    check_model_path(args.model)


def build_app(args):
    """Load the model (and index the gallery), and make the application."""
    from pyimagesearch.serving.server import create_app
    from pyimagesearch.serving.service import SiameseService

    print("[INFO] loading siamese model...")
    if args.gallery:
        print("[INFO] indexing gallery...")
    service = SiameseService(args.model, args.gallery, args.index_file, args.index,
                             args.threshold, window=args.batch_window / 1000,
                             most=64 if args.batch_window else 1)
    app = create_app(service, args.most_bytes)
    # TensorFlow and the model are a million objects that live as long as the server: kept
    # out of the garbage collector's full passes, which otherwise stop every request for
    # some 400 ms every few seconds under load
    gc.collect()
    gc.freeze()
    return app


def app_from_environment():
    """The application of one worker of --workers, from the arguments its parent left."""
    args = parse_args(json.loads(os.environ[ARGUMENTS_VARIABLE]))
    quiet_tensorflow(args.verbose)
    return build_app(args)


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    import uvicorn

    level = "info" if args.verbose else "warning"
    if args.workers > 1:
        os.environ[ARGUMENTS_VARIABLE] = json.dumps(argv if argv is not None else
                                                    sys.argv[1:])
        print(f"[INFO] serving on http://{args.host}:{args.port} with {args.workers} "
              f"workers (try it at /, the API at /docs)")
        uvicorn.run("serve_siamese_network:app_from_environment", factory=True,
                    host=args.host, port=args.port, workers=args.workers, log_level=level,
                    app_dir=os.path.dirname(os.path.abspath(__file__)))
        return
    quiet_tensorflow(args.verbose)
    from pyimagesearch.serving.server import listening_socket

    app = build_app(args)
    listening = listening_socket(args.host, args.port)
    (host, port) = listening.getsockname()[:2]
    print(f"[INFO] serving on http://{host}:{port} (try it at /, the API at /docs)",
          flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level=level))
    server.run(sockets=[listening])


if __name__ == "__main__":
    run(main)
