"""The server attacked, as a careless client or a hostile web page would (docs/serving.md,
"Errors" and "Behind a reverse proxy"): the real server on a free loopback port, every loop
bounded in count and time."""
import io
import json
import os
import socket
import struct
import time
import zlib

import httpx
import numpy as np
import pytest
from conftest import TIMEOUT, TOKEN, RunningServer
from PIL import Image
from test_search_siamese_network import MODEL, write_digits
from test_serve import digit

HOLD = 2000  # slow clients held open at once, as the attack


def serve(tmp_path, **options):
    from pyimagesearch.serving.service import SiameseService

    gallery = write_digits(str(tmp_path / "gallery"), range(4), 5, seed=3)
    serverOptions = {key: options.pop(key) for key in ("requestSeconds", "mostConnections")
                     if key in options}
    return RunningServer(SiameseService(MODEL, gallery, str(tmp_path / "index.npz"),
                                        log=lambda line: None, **options), **serverOptions)


@pytest.fixture
def server(tmp_path):
    running = serve(tmp_path)
    yield running
    running.stop()


def bare(server, **headers):
    """A client without the token (or with headers of its own)."""
    return httpx.Client(base_url=server.url, timeout=TIMEOUT, headers=headers)


def test_slow_clients_are_closed_and_others_are_answered_meanwhile(tmp_path):
    running = serve(tmp_path, requestSeconds=2.0, mostConnections=500)
    slow = []
    try:
        for _ in range(HOLD):  # half a request each: the headers never end
            connection = socket.create_connection(("127.0.0.1", running.port), TIMEOUT)
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(connection)
        started = time.monotonic()
        assert running.client.get("/health").status_code == 200
        answered = time.monotonic() - started
        # past the deadline every one of them has been answered 408 or closed
        deadline = time.monotonic() + TIMEOUT
        for connection in slow:
            connection.settimeout(max(0.1, deadline - time.monotonic()))
            received = b""
            while chunk := connection.recv(4096):
                received += chunk
            assert received == b"" or received.startswith(b"HTTP/1.1 408")
        assert running.client.get("/health").status_code == 200
        print(f"/health answered in {answered:.3f} s with {HOLD} slow clients held")
    finally:
        for connection in slow:
            connection.close()
        running.stop()


def test_a_request_that_stops_halfway_gets_408(tmp_path):
    running = serve(tmp_path, requestSeconds=1.0)
    try:
        with socket.create_connection(("127.0.0.1", running.port), TIMEOUT) as connection:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-")
            connection.settimeout(TIMEOUT)
            answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and b'"error"' in answer
    finally:
        running.stop()


def png_claiming(width, height, depth, colourType):
    """A small PNG whose header says width x height at depth bits, of colourType."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                               depth, colourType, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_an_image_that_decodes_to_too_many_bytes_is_refused_from_its_header(server):
    # 6300 x 6300 16-bit RGBA: under the pixel limit, 318 MB once decoded
    answer = server.client.post("/search", files={"image": png_claiming(6300, 6300, 16, 6)})
    assert answer.status_code == 413 and "decodes to" in answer.json()["error"]
    # the same size in 8-bit grayscale (40 MB) is taken as far as its header goes
    answer = server.client.post("/search", files={"image": png_claiming(6300, 6300, 8, 0)})
    assert answer.status_code == 415


def test_images_are_decoded_off_the_event_loop(server, monkeypatch):
    threads = []
    original = server.service.decode

    def decode(data, name="upload"):
        import threading

        threads.append(threading.current_thread().name)
        return original(data, name)
    monkeypatch.setattr(server.service, "decode", decode)
    assert server.client.post("/compare", files={"a": digit(1, 1),
                                                 "b": digit(1, 2)}).status_code == 200
    assert server.client.post("/search", files={"image": digit(1, 1)}).status_code == 200
    assert len(threads) == 3 and all(name.startswith("decode") for name in threads)


def test_writes_need_the_token_and_the_servers_own_origin_and_host(server):
    image = {"image": ("x.png", digit(2, 9))}
    label = {"label": "two"}
    for client in (bare(server), bare(server, Authorization="Bearer wrong")):
        refused = client.post("/gallery", files=image, data=label)
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert client.delete("/gallery/0/0_0.png").status_code == 401
        # reads need no token
        assert client.get("/health").status_code == 200
    # a page of another site: its form posts with its own Origin, token or not
    foreign = bare(server, Authorization=f"Bearer {TOKEN}", Origin="http://evil.example")
    assert foreign.post("/gallery", files=image, data=label).status_code == 403
    assert foreign.post("/compare", files={"a": digit(1, 1), "b": digit(1, 2)}
                        ).status_code == 403
    # DNS rebinding: another name that leads here; the page (with its token) is not served
    rebound = bare(server, Host="evil.example")
    for response in (rebound.get("/"), rebound.get("/health"),
                     rebound.delete("/gallery/0/0_0.png")):
        assert response.status_code == 403
    assert bare(server, Host=f"127.0.0.1:{server.port + 1}").get("/health").status_code == 403
    assert server.client.get("/health").json()["gallery"]["images"] == 20
    # the server's own page carries the token, and with it a write is taken
    assert TOKEN in bare(server).get("/").text
    own = bare(server, Authorization=f"Bearer {TOKEN}", Origin=server.url)
    assert own.post("/gallery", files=image, data=label).status_code == 201
    assert bare(server, Host=f"localhost:{server.port}").get("/health").status_code == 200


def test_uploads_are_kept_re_encoded_and_the_gallery_can_be_capped(tmp_path):
    running = serve(tmp_path, mostImages=21)
    try:
        padded = digit(5, 1) + b"<html><script>alert(1)</script></html>"
        made = running.client.post("/gallery", files={"image": ("p.png", padded)},
                                   data={"label": "five"})
        assert made.status_code == 201
        with open(os.path.join(running.service.gallery, made.json()["path"]), "rb") as f:
            stored = f.read()
        assert b"<html>" not in stored and stored.startswith(b"\x89PNG")
        full = running.client.post("/gallery", files={"image": digit(6, 1)},
                                   data={"label": "six"})
        assert full.status_code == 409 and "--most-gallery-images" in full.json()["error"]
    finally:
        running.stop()


def test_one_row_a_path_and_a_file_gone_is_404_never_500(server):
    gallery = server.service.gallery
    assert server.client.post("/gallery", files={"image": ("again.png", digit(3, 1))},
                              data={"label": "3"}).status_code == 201
    os.remove(os.path.join(gallery, "3", "again.png"))  # by hand
    assert server.client.post("/gallery", files={"image": ("again.png", digit(3, 2))},
                              data={"label": "3"}).json()["path"] == "3/again.png"
    found = server.client.post("/search", files={"image": digit(3, 2)},
                               data={"top": "30"}).json()["neighbours"]
    assert [n["path"] for n in found].count("3/again.png") == 1
    os.remove(os.path.join(gallery, "3", "again.png"))
    for response in (server.client.get("/gallery/3/again.png"),
                     server.client.delete("/gallery/3/again.png"),
                     server.client.get("/gallery/3/again.png")):
        assert response.status_code == 404, response.text
    assert server.client.get("/health").json()["gallery"]["images"] == 20


def mpo(image):
    """A camera's multi-picture JPEG of two pictures."""
    first = Image.fromarray(image)
    data = io.BytesIO()
    first.save(data, "MPO", save_all=True, append_images=[first.transpose(0)])
    return data.getvalue()


def test_the_small_ones(server, tmp_path):
    client = server.client
    assert client.get("/gallery/0/0_0.png%00").status_code == 400
    assert client.delete("/gallery/0/0_0.png%00").status_code == 400
    not_allowed = client.put("/health")
    assert not_allowed.status_code == 405 and "GET" in not_allowed.headers["allow"]
    assert client.head("/health").status_code == 200
    assert client.head("/").status_code == 200

    def chunks():  # a well-formed upload of 11 MB, sent without a Content-Length
        yield (b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
               b"Content-Type: image/png\r\n\r\n")
        for _ in range(11):
            yield b"\0" * 2 ** 20
        yield b"\r\n--x--\r\n"
    chunked = client.post("/search", content=chunks(),
                          headers={"content-type": "multipart/form-data; boundary=x"})
    assert chunked.status_code == 413

    picture = np.full((40, 40, 3), 200, np.uint8)
    assert Image.open(io.BytesIO(mpo(picture))).format == "MPO"
    made = client.post("/gallery", files={"image": ("camera.jpg", mpo(picture))},
                       data={"label": "camera"})
    assert made.status_code == 201 and made.json()["path"].endswith(".jpg")

    for label in ("😀" * 100, "a\u0085", "b\u202e", "c\u200b", "d ", " e"):
        refused = client.post("/gallery", files={"image": digit(1, 1)}, data={"label": label})
        assert refused.status_code == 400, label
    with open(os.path.join(server.service.gallery, "notes.txt"), "w") as f:
        f.write("a file at the gallery's top")
    assert client.post("/gallery", files={"image": digit(1, 1)},
                       data={"label": "notes.txt"}).status_code == 409
    composed = client.post("/gallery", files={"image": digit(1, 1)},
                           data={"label": "cafe\u0301"})
    assert composed.json()["label"] == "caf\u00e9"
    assert os.path.isdir(os.path.join(server.service.gallery, "caf\u00e9"))


def test_an_index_left_half_written_by_a_kill_is_cleared_and_named_relatively(tmp_path):
    index = tmp_path / "index.npz"
    stale = tmp_path / "index.npz.partial-999999999"
    stale.write_bytes(b"half an index")
    running = serve(tmp_path)
    try:
        assert not stale.exists()
        with open(index, "wb") as f:
            f.write(b"not an index any more")
        broken = running.client.post("/search", files={"image": digit(1, 1)})
        assert broken.status_code == 503
        assert str(tmp_path) not in broken.json()["error"]
        assert "index.npz" in broken.json()["error"]
    finally:
        running.stop()


def test_copies_of_one_image_under_other_labels_leave_the_open_set_meaningful(server):
    before = server.client.get("/health").json()["gallery"]["unknown_from_distance"]
    copy = digit(0, 3)
    for i in range(12):
        assert server.client.post("/gallery", files={"image": (f"c{i}.png", copy)},
                                  data={"label": f"not{i}"}).status_code == 201
    after = server.client.get("/health").json()["gallery"]["unknown_from_distance"]
    assert after > 0.5 * before
    # the copies are answered by one of their labels, and the known digits still by theirs
    assert server.client.post("/search", files={"image": copy}).json()["answer"] is not None
    answers = [server.client.post("/search", files={"image": digit(d, 50 + d)}).json()[
        "answer"] for d in range(1, 4)]
    assert answers == ["1", "2", "3"]
    print(json.dumps({"before": before, "after": after}))


def test_accept_errors_are_logged_once_in_a_while():
    import logging

    from pyimagesearch.serving.connections import OnceInAWhile

    quiet = OnceInAWhile(every=60)

    def record(message):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, None)
    accept = "socket.accept() out of system resource"
    assert quiet.filter(record(accept))
    assert not any(quiet.filter(record(accept)) for _ in range(1000))
    assert quiet.filter(record("Task exception was never retrieved"))
