"""Serve a trained siamese network over HTTP: compare two images, search a gallery, enrol.

USAGE
    python serve_siamese_network.py --model output/small_vgg_siamese_model
    python serve_siamese_network.py --model output/small_vgg_siamese_model --gallery gallery
    curl -F a=@examples/image_00.png -F b=@examples/image_01.png localhost:8000/compare

The model is loaded once; requests that arrive together are scored together. Open
http://127.0.0.1:8000/ to try it in a browser, /docs for the API (docs/serving.md).
"""
# import the necessary packages
import gc
import json
import os
import sys

from pyimagesearch.cli import quiet_tensorflow, run
from pyimagesearch.models.model_io import check_model_path
from pyimagesearch.search.index import check_index_kind
from pyimagesearch.serving.arguments import parse_args
from pyimagesearch.serving.guard import TOKEN_VARIABLE, new_token

# where the workers of --workers find their arguments
ARGUMENTS_VARIABLE = "SIAMESE_SERVE_ARGUMENTS"


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
                             most=64 if args.batch_window else 1,
                             mostDecoded=int(args.most_decoded_mb * 2 ** 20),
                             mostImages=args.most_gallery_images)
    # the address it listens on is a name it answers to, unless it is every address
    names = [*args.allowed_hosts, *([args.host] if args.host not in ("0.0.0.0", "::") else [])]
    app = create_app(service, args.most_bytes, args.token, names, args.port or None)
    # TensorFlow and the model are a million objects that live as long as the server: kept
    # out of the garbage collector's full passes, which otherwise stop every request for
    # some 400 ms every few seconds under load
    gc.collect()
    gc.freeze()
    return app


def app_from_environment():
    """The application of one worker of --workers, from the arguments (and the token) its
    parent left, its connections held to the same limits."""
    from pyimagesearch.serving.connections import GuardedH11Protocol, quiet_accept_errors

    args = parse_args(json.loads(os.environ[ARGUMENTS_VARIABLE]))
    quiet_tensorflow(args.verbose)
    quiet_accept_errors()
    GuardedH11Protocol.request_seconds = args.request_timeout
    GuardedH11Protocol.most_connections = args.most_connections
    return build_app(args)


def announce_token(args):
    """Make a token when none was given, and print it once: writes need it."""
    if args.token is None:
        args.token = os.environ[TOKEN_VARIABLE] = new_token()
        print(f"[INFO] writes to the gallery need the header 'Authorization: Bearer "
              f"{args.token}' (pass --token or set ${TOKEN_VARIABLE} to choose it)", flush=True)


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    import uvicorn

    level = "info" if args.verbose else "warning"
    announce_token(args)
    if args.workers > 1:
        os.environ[ARGUMENTS_VARIABLE] = json.dumps(argv if argv is not None else
                                                    sys.argv[1:])
        print(f"[INFO] serving on http://{args.host}:{args.port} with {args.workers} "
              f"workers (try it at /, the API at /docs)")
        uvicorn.run("serve_siamese_network:app_from_environment", factory=True,
                    host=args.host, port=args.port, workers=args.workers, log_level=level,
                    app_dir=os.path.dirname(os.path.abspath(__file__)),
                    http="pyimagesearch.serving.connections:GuardedH11Protocol")
        return
    quiet_tensorflow(args.verbose)
    from pyimagesearch.serving.server import listening_socket, server_config

    listening = listening_socket(args.host, args.port)
    (host, port) = listening.getsockname()[:2]
    args.port = port  # --port 0: the one taken, the only one its Host header may name
    app = build_app(args)
    print(f"[INFO] serving on http://{host}:{port} (try it at /, the API at /docs)",
          flush=True)
    server = uvicorn.Server(server_config(app, args.request_timeout, args.most_connections,
                                          level))
    server.run(sockets=[listening])


if __name__ == "__main__":
    run(main)
