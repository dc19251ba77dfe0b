"""The HTTP service under load: requests per second and latency of /compare and /search.

    python -m benchmarks.benchmark_serve                    # 10,000 images, 1/8/32 clients
    python -m benchmarks.benchmark_serve --gallery-size 500 --clients 1 4 --seconds 2
    # a face model beside the digits' (finding and aligning each photo's faces, then the model)
    python -m benchmarks.benchmark_serve --model output/small_vgg_siamese_model \
        output/faces_siamese_model --gallery-size 1000 --clients 1 8 --windows 0

The real server (serve_siamese_network.py, a process of its own on a free port of 127.0.0.1)
over a gallery in class folders, once with its batching window and once scoring each request
alone; a client process keeps N requests in flight for --seconds per cell and reports requests
per second and the 50th, 95th and 99th percentile latency, side by side in one run. The client
shares the machine's cores with the server. The gallery and the queries are rendered digits
(not MNIST) for a digit model, and for a face model (--images faces) NASA's astronaut photo
(tests/faces/astronaut.jpg, public domain, 512x512) moved, lit and mirrored: every request then
also finds and aligns the photo's face.
"""
import argparse
import asyncio
import functools
import os
import platform
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

from benchmarks.common import ROOT, add_record_argument, describe_cpu, write_record


def write_gallery(folder, size, faces=False, seed=0):
    """size images in class folders: rendered digits (0 to 7; 8s and 9s are left as unknown
    queries), or for a face model the astronaut photo as 8 made-up people (face_photo)."""
    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(seed)
    for i in range(size):
        label = i % 8
        os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
        (name, image) = ((f"{i:06d}.jpg", face_photo(label, rng)) if faces else
                         (f"{i:06d}.png", render_digit(label, rng)))
        cv2.imwrite(os.path.join(folder, str(label), name), image)


@functools.cache
def astronaut():
    return cv2.imread(os.path.join(ROOT, "tests", "faces", "astronaut.jpg"))


def face_photo(person, rng):
    """The astronaut photo (one face) as made-up person number `person`: mirrored or not,
    under one of four lights, moved by a few pixels."""
    photo = astronaut()
    light = (0.6, 0.8, 1.0, 1.2)[person % 4] * rng.uniform(0.95, 1.05)
    moved = np.roll(photo, int(rng.integers(-10, 10)), axis=1)
    image = np.clip(moved.astype(np.float32) * light, 0, 255).astype(np.uint8)
    return image[:, ::-1] if person >= 4 else image


def queries(count, faces=False, seed=1):
    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(seed)
    (extension, draw) = ((".jpg", face_photo) if faces else (".png", render_digit))
    return [cv2.imencode(extension, draw(i % 10, rng))[1].tobytes() for i in range(count)]


def start_server(model, gallery, indexFile, window):
    """The server process and its URL, once it says it is serving."""
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "serve_siamese_network.py"), "--model", model,
         "--gallery", gallery, "--index-file", indexFile, "--port", "0", "--batch-window",
         str(window)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.monotonic() + 600
    for line in process.stdout:
        if "serving on" in line:
            return process, line.split()[3]
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"[ERROR] the server did not start: {line.strip()}")


def multipart(url, endpoint, files):
    """The bytes of one HTTP/1.1 POST of files (name: bytes) as multipart/form-data."""
    boundary = "benchmarkboundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{name}.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                    + data + b"\r\n" for (name, data) in files.items())
    body += f"--{boundary}--\r\n".encode()
    host = url.split("//")[1]
    return (f"POST /{endpoint} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
            f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def load(url, endpoint, images, clients, seconds):
    """(requests answered, errors, latencies in ms) with `clients` requests always in flight,
    each client on a kept-alive connection of its own. The requests are made beforehand and
    the answers read by their Content-Length: a client this thin leaves the cores to the
    server."""
    requests = [multipart(url, endpoint, {"a": image, "b": images[(i + 1) % len(images)]}
                          if endpoint == "compare" else {"image": image})
                for (i, image) in enumerate(images)]
    (host, port) = url.split("//")[1].split(":")
    (latencies, errors) = ([], 0)
    deadline = time.perf_counter() + seconds

    async def client(c):
        nonlocal errors
        (reader, writer) = await asyncio.open_connection(host, int(port))
        i = c
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(requests[i % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not head.startswith(b"HTTP/1.1 200")
            i += clients
        writer.close()

    await asyncio.gather(*(client(c) for c in range(clients)))
    return len(latencies), errors, np.array(latencies)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", default=[os.path.join("output",
                                                                "small_vgg_siamese_model")],
                    help="the models to serve, one after the other (default: the shipped "
                         "small_vgg)")
    ap.add_argument("--gallery-size", type=int, default=10_000,
                    help="images in the gallery (default: 10000)")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32],
                    help="requests kept in flight at once (default: 1 8 32)")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="seconds of load per endpoint and client count (default: 10)")
    ap.add_argument("--windows", type=float, nargs="+", default=[2.0, 0.0],
                    help="the server's --batch-window in ms; 0 scores each request alone "
                         "(default: 2 0)")
    add_record_argument(ap)
    args = ap.parse_args()
    if args.gallery_size < 2 or min(args.clients) < 1 or args.seconds <= 0:
        raise SystemExit("[ERROR] --gallery-size at least 2, --clients at least 1, --seconds "
                         "more than 0")
    from pyimagesearch.data.model_inputs import face_model
    from pyimagesearch.models.model_io import read_metadata

    print(f"[INFO] {describe_cpu()}; Python {platform.python_version()}")
    results = {}
    for model in args.model:
        faces = bool(face_model(read_metadata(model)))
        with tempfile.TemporaryDirectory() as folder:
            gallery = os.path.join(folder, "gallery")
            write_gallery(gallery, args.gallery_size, faces)
            kind = "photos of one face (the astronaut's)" if faces else "rendered digits"
            print(f"[INFO] {args.gallery_size:,} {kind} of 8 classes; {model}")
            cells = serve_under_load(args, model, gallery, os.path.join(folder, "index.npz"),
                                     queries(200, faces))
        prefix = f"{os.path.basename(os.path.normpath(model))}: " if len(args.model) > 1 else ""
        results.update({prefix + cell: figures for (cell, figures) in cells.items()})
    write_record(args.json, "benchmarks.benchmark_serve",
                 {"models": args.model, "gallery_size": args.gallery_size, **results})


def serve_under_load(args, model, gallery, indexFile, images):
    """{cell: figures} of each batching window, endpoint and client count, the server
    started anew for each window."""
    results = {}
    for window in args.windows:
        (process, url) = start_server(model, gallery, indexFile, window)
        try:
            batching = f"batching window {window:g} ms" if window else "no batching"
            for endpoint in ("compare", "search"):
                for clients in args.clients:
                    (count, errors, ms) = asyncio.run(load(url, endpoint, images, clients,
                                                           args.seconds))
                    (p50, p95, p99) = np.percentile(ms, [50, 95, 99])
                    print(f"[RESULT] /{endpoint:<7} {batching:<24} {clients:>3} clients: "
                          f"{count / args.seconds:7.1f} requests/s, p50 {p50:6.1f} ms, "
                          f"p95 {p95:6.1f} ms, p99 {p99:6.1f} ms, {errors} errors", flush=True)
                    results[f"/{endpoint}, {batching}, {clients} clients"] = {
                        "requests_per_second": count / args.seconds, "p50_ms": p50,
                        "p95_ms": p95, "p99_ms": p99, "errors": errors}
        finally:
            process.terminate()
            process.wait(60)
    return results


if __name__ == "__main__":
    main()
