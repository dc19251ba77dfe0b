"""The HTTP service under load: requests per second and latency of /compare and /search.

    python -m benchmarks.benchmark_serve                    # 10,000 images, 1/8/32 clients
    python -m benchmarks.benchmark_serve --gallery-size 500 --clients 1 4 --seconds 2

The real server (serve_siamese_network.py, a process of its own on a free port of 127.0.0.1)
over a gallery of rendered digits (not MNIST) in class folders, once with its batching window
and once scoring each request alone; a client process keeps N requests in flight for
--seconds per cell and reports requests per second and the 50th, 95th and 99th percentile
latency, side by side in one run. The client shares the machine's cores with the server.
"""
import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

from benchmarks.common import ROOT, add_record_argument, describe_cpu, write_record


def write_gallery(folder, size, seed=0):
    """size rendered digits (0 to 7; 8s and 9s are left as unknown queries) in class folders."""
    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(seed)
    for i in range(size):
        digit = i % 8
        os.makedirs(os.path.join(folder, str(digit)), exist_ok=True)
        cv2.imwrite(os.path.join(folder, str(digit), f"{i:06d}.png"), render_digit(digit, rng))


def queries(count, seed=1):
    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(seed)
    return [cv2.imencode(".png", render_digit(i % 10, rng))[1].tobytes() for i in range(count)]


def start_server(args, gallery, indexFile, window):
    """The server process and its URL, once it says it is serving."""
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "serve_siamese_network.py"), "--model", args.model,
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
    ap.add_argument("--model", default=os.path.join("output", "small_vgg_siamese_model"),
                    help="the model to serve (default: the shipped small_vgg)")
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
    print(f"[INFO] {describe_cpu()}; Python {platform.python_version()}")
    images = queries(200)
    with tempfile.TemporaryDirectory() as folder:
        gallery = os.path.join(folder, "gallery")
        write_gallery(gallery, args.gallery_size)
        print(f"[INFO] {args.gallery_size:,} rendered digits of 8 classes; {args.model}")
        results = {}
        for window in args.windows:
            (process, url) = start_server(args, gallery, os.path.join(folder, "index.npz"),
                                          window)
            try:
                batching = f"batching window {window:g} ms" if window else "no batching"
                for endpoint in ("compare", "search"):
                    for clients in args.clients:
                        (count, errors, ms) = asyncio.run(load(url, endpoint, images, clients,
                                                               args.seconds))
                        (p50, p95, p99) = np.percentile(ms, [50, 95, 99])
                        print(f"[RESULT] /{endpoint:<7} {batching:<24} {clients:>3} clients: "
                              f"{count / args.seconds:7.1f} requests/s, p50 {p50:6.1f} ms, "
                              f"p95 {p95:6.1f} ms, p99 {p99:6.1f} ms, {errors} errors",
                              flush=True)
                        results[f"/{endpoint}, {batching}, {clients} clients"] = {
                            "requests_per_second": count / args.seconds, "p50_ms": p50,
                            "p95_ms": p95, "p99_ms": p99, "errors": errors}
            finally:
                process.terminate()
                process.wait(60)
    write_record(args.json, "benchmarks.benchmark_serve", results)


if __name__ == "__main__":
    main()
