"""The HTTP service: the real server on a free loopback port, with the shipped accurate model and
a gallery of rendered digits (not MNIST) made here."""
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import numpy as np
import pytest
from conftest import ROOT, TIMEOUT, TOKEN, RunningServer, load_script, run_script
from test_search_siamese_network import MODEL, write_digits

from pyimagesearch.data.digits import render_digit
from pyimagesearch.search.gallery import is_index_file


def start(gallery, indexFile, **options):
    from pyimagesearch.serving.service import SiameseService

    mostBytes = options.pop("mostBytes", None)
    return RunningServer(SiameseService(MODEL, gallery, indexFile, log=lambda line: None,
                                        **options), mostBytes)


def png(image):
    return cv2.imencode(".png", image)[1].tobytes()


def digit(value, seed):
    return png(render_digit(value, np.random.default_rng(seed)))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server over the gallery docs/serving.md makes (tools.make_gallery: the digits 0 to
    7, 10 each), for the tests that change nothing in it."""
    folder = tmp_path_factory.mktemp("served")
    gallery = str(folder / "gallery")
    assert run_script("tools.make_gallery", "--output", gallery).returncode == 0
    server = start(gallery, str(folder / "index.npz"))
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own, over a gallery it may change; restart() serves the same
    gallery and index anew, as after a restart."""
    gallery = write_digits(str(tmp_path / "gallery"), range(4), 5, seed=3)
    servers = []

    def restart():
        if servers:
            servers[-1].stop()
        servers.append(start(gallery, str(tmp_path / "index.npz")))
        return servers[-1]
    yield restart
    servers[-1].stop()


def test_health_names_the_model_its_threshold_and_the_gallery(served):
    health = served.client.get("/health").json()
    with open(os.path.join(MODEL, "metadata.json")) as f:
        metadata = json.load(f)
    # names, never the server's own absolute paths
    assert health["model"] == "small_vgg_siamese_model"
    assert health["gallery"]["path"] == "gallery" and ROOT not in json.dumps(health)
    assert not any(os.path.isabs(str(value)) for value in health["gallery"].values())
    assert (health["score_kind"], health["threshold"]) == ("similarity", metadata["threshold"])
    assert (health["gallery"]["images"], health["gallery"]["classes"]) == (80, 8)
    assert health["gallery"]["unknown_from_distance"] > 0


def test_compare_gives_the_test_scripts_numbers(served, tmp_path):
    (a, b) = (tmp_path / "a.png", tmp_path / "b.png")
    a.write_bytes(digit(3, 1))
    b.write_bytes(digit(3, 2))
    answer = served.client.post("/compare", files={"a": a.read_bytes(),
                                                   "b": b.read_bytes()}).json()
    printed = run_script("test_siamese_network.py", "--input", a, b, "--no-prepare",
                         "--model", MODEL, "--output", tmp_path / "pairs").stdout
    assert f"similarity: {answer['score']:.2f} - {answer['verdict']}" in printed
    assert answer["verdict"] == "same" and answer["score_kind"] == "similarity"
    different = served.client.post("/compare", files={"a": a.read_bytes(),
                                                      "b": digit(7, 3)}).json()
    assert different["verdict"] == "different" and different["score"] < answer["score"]


def test_search_gives_the_search_scripts_record(served, tmp_path):
    query = tmp_path / "query.png"
    query.write_bytes(digit(5, 40))
    answer = served.client.post("/search", files={"image": ("query.png", query.read_bytes())},
                                data={"top": "3"}).json()
    script = load_script("search_siamese_network.py")
    script.main(["--gallery", served.service.gallery, "--query", str(query), "--model", MODEL,
                 "--index-file", served.service.indexPath, "--top", "3", "--output",
                 str(tmp_path / "figures"), "--json", str(tmp_path / "out.json")])
    with open(tmp_path / "out.json") as f:
        record = json.load(f)["queries"][0]
    assert set(answer) == set(record) and answer["query"] == "query.png"
    assert answer["answer"] == record["answer"] == "5"
    assert [n["path"] for n in answer["neighbours"]] == [n["path"] for n in
                                                          record["neighbours"]]
    for (mine, theirs) in zip(answer["neighbours"], record["neighbours"]):
        assert mine["score"] == pytest.approx(theirs["score"], abs=1e-5)
        assert mine["distance"] == pytest.approx(theirs["distance"], abs=1e-5)
    # a digit the gallery lacks is unknown
    unknown = served.client.post("/search", files={"image": digit(9, 41)}).json()
    assert unknown["answer"] is None and len(unknown["neighbours"]) == 5


def test_many_clients_at_once_get_what_one_at_a_time_gets(served):
    queries = [digit(i % 10, 100 + i) for i in range(24)]

    def ask(i):
        if i % 2:
            return served.client.post("/search", files={"image": queries[i]}).json()
        return served.client.post("/compare", files={"a": queries[i],
                                                      "b": queries[i + 1]}).json()

    alone = [ask(i) for i in range(len(queries) - 1)]
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(ask, range(len(queries) - 1)))
    for (one, many) in zip(alone, together):
        if "answer" in one:
            assert one["answer"] == many["answer"]
            assert [n["path"] for n in one["neighbours"]] == [n["path"] for n in
                                                               many["neighbours"]]
        else:
            assert one["verdict"] == many["verdict"]
            assert one["score"] == pytest.approx(many["score"], abs=1e-5)


def png_header(width, height):
    """A PNG that says it is width x height and holds nearly nothing."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8,
                                                               0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_bad_uploads_get_a_json_error_and_the_server_goes_on(served):
    client = served.client
    cases = [
        (client.post("/compare", files={"a": b"not an image", "b": digit(1, 1)}), 415),
        (client.post("/search", files={"image": png_header(9000, 9000)}), 413),
        (client.post("/search", files={"image": png_header(60000, 60000)}), 413),
        (client.post("/search", files={"image": b"\0" * (10 * 2 ** 20 + 1)}), 413),
        (client.post("/compare", files={"a": digit(1, 1)}), 422),
        (client.post("/search", files={"image": digit(1, 1)}, data={"top": "0"}), 400),
        (client.post("/gallery", files={"image": digit(1, 1)}, data={"label": "../x"}), 400),
        (client.post("/gallery", files={"image": digit(1, 1)}, data={"label": ".."}), 400),
        (client.delete("/gallery/7/no_such_file.png"), 404),
        (client.delete("/gallery/..%2F..%2Findex.npz"), 404),
        (client.get("/gallery/%2E%2E/index.npz"), 404),
    ]
    for (response, status) in cases:
        assert response.status_code == status, response.text
        assert set(response.json()) == {"error"} and response.json()["error"]
    assert client.get("/health").status_code == 200
    assert client.post("/compare", files={"a": digit(1, 1), "b": digit(1, 2)}).json()[
        "verdict"] == "same"


def test_a_smaller_upload_limit_is_kept(tmp_path):
    gallery = write_digits(str(tmp_path / "gallery"), range(2), 2, seed=1)
    server = start(gallery, str(tmp_path / "index.npz"), mostBytes=2000)
    try:
        response = server.client.post("/compare", files={"a": b"\0" * 3000, "b": b"\0"})
        assert response.status_code == 413 and "2,000 bytes" in response.json()["error"]
    finally:
        server.stop()


def test_enrolled_images_answer_at_once_and_after_a_restart(own_server, tmp_path):
    server = own_server()
    nine = digit(9, 7)
    assert server.client.post("/search", files={"image": nine}).json()["answer"] is None
    for seed in range(3):
        response = server.client.post("/gallery", files={"image": ("my nine!.png",
                                                                     digit(9, seed))},
                                      data={"label": "nine"})
        assert response.status_code == 201, response.text
    # the upload's own name made safe; a name taken already gets a suffix
    third = response.json()
    assert third["path"].startswith("nine/my_nine-") and third["path"].endswith(".png")
    assert (third["label"], third["gallery_size"]) == ("nine", 23)
    assert server.client.post("/search", files={"image": nine}).json()["answer"] == "nine"
    assert is_index_file(server.service.indexPath)
    # the folder is the gallery: the file is there, and a restart keeps the enrolment
    assert os.path.isfile(os.path.join(server.service.gallery, "nine", "my_nine.png"))
    server = own_server()
    assert server.client.get("/health").json()["gallery"]["images"] == 23
    assert server.client.post("/search", files={"image": nine}).json()["answer"] == "nine"
    for path in ("nine/my_nine.png", third["path"]):
        assert server.client.get(f"/gallery/{path}").content[:4] == b"\x89PNG"
        assert server.client.delete(f"/gallery/{path}").json()["gallery_size"] < 23
    assert not os.path.exists(os.path.join(server.service.gallery, "nine", "my_nine.png"))
    server = own_server()
    assert server.client.get("/health").json()["gallery"]["images"] == 21


def test_a_full_disk_fails_an_enrolment_in_json_and_changes_nothing(own_server, monkeypatch):
    import pyimagesearch.serving.service

    server = own_server()

    def full_disk(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(pyimagesearch.serving.service, "write_whole", full_disk)
    response = server.client.post("/gallery", files={"image": digit(9, 1)},
                                  data={"label": "nine"})
    assert response.status_code == 500
    assert response.json() == {"error": "the server could not answer: No space left on device"}
    assert server.client.get("/health").json()["gallery"]["images"] == 20


def test_a_full_disk_leaves_the_gallery_and_its_index_as_they_were(own_server, monkeypatch):
    import pyimagesearch.search.gallery

    server = own_server()
    gallery = server.service.gallery
    before = sorted(os.listdir(os.path.join(gallery, "3")))
    some = f"3/{before[0]}"
    with monkeypatch.context() as patched:
        def full(index, path):
            raise OSError(28, "No space left on device")
        patched.setattr(pyimagesearch.search.gallery, "save_index", full)
        # an enrolment whose index cannot be saved takes its image out again
        assert server.client.post("/gallery", files={"image": digit(9, 1)},
                                  data={"label": "nine"}).status_code == 500
        assert not os.listdir(os.path.join(gallery, "nine"))
        # a removal whose index cannot be saved keeps the file and its row
        assert server.client.delete(f"/gallery/{some}").status_code == 500
        assert server.client.get(f"/gallery/{some}").status_code == 200
    assert sorted(os.listdir(os.path.join(gallery, "3"))) == before
    search = server.client.post("/search", files={"image": digit(3, 5)}, data={"top": "80"})
    assert some in [n["path"] for n in search.json()["neighbours"]]
    # and the next start finds what the last one served
    server = own_server()
    assert server.client.get("/health").json()["gallery"]["images"] == 20


def test_a_label_never_leads_outside_the_gallery(own_server, tmp_path):
    server = own_server()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, os.path.join(server.service.gallery, "linked"))
    response = server.client.post("/gallery", files={"image": digit(1, 1)},
                                  data={"label": "linked"})
    assert response.status_code == 403, response.text
    assert list(outside.iterdir()) == []


def test_two_servers_of_one_gallery_see_each_others_enrolments(own_server, tmp_path):
    first = own_server()
    from pyimagesearch.serving.service import SiameseService

    second = RunningServer(SiameseService(MODEL, first.service.gallery,
                                          first.service.indexPath, log=lambda line: None))
    try:
        nine = digit(9, 7)
        assert second.client.post("/search", files={"image": nine}).json()["answer"] is None
        first.client.post("/gallery", files={"image": digit(9, 1)}, data={"label": "nine"})
        assert second.client.post("/search", files={"image": nine}).json()["answer"] == "nine"
    finally:
        second.stop()


def test_enrolments_during_searches_leave_a_whole_gallery(own_server):
    server = own_server()

    def enrol(i):
        return server.client.post("/gallery", files={"image": digit(8, i)},
                                  data={"label": "eight"}).status_code

    def search(i):
        return server.client.post("/search", files={"image": digit(i % 4, 50 + i)}).json()

    with ThreadPoolExecutor(8) as pool:
        enrolled = pool.map(enrol, range(6))
        answers = pool.map(search, range(12))
        assert set(enrolled) == {201}
        assert all(a["answer"] in {str(i % 4) for i in range(12)} | {"eight", None}
                   for a in answers)
    health = own_server().client.get("/health").json()
    assert health["gallery"]["images"] == 26 and health["gallery"]["classes"] == 5


def test_the_page_and_the_api_description_are_served(served):
    page = served.client.get("/")
    assert page.status_code == 200 and 'id="compare"' in page.text and 'id="search"' in page.text
    paths = served.client.get("/openapi.json").json()["paths"]
    assert {"/health", "/compare", "/search", "/gallery", "/gallery/{path}"} <= set(paths)
    # the API's page is whole without internet: its script is the server's own
    docs = served.client.get("/docs").text
    script = [part.split('"')[0] for part in docs.split('src="')[1:]
              if "swagger-ui-bundle" in part][0]
    assert script.startswith("/") and served.client.get(script).status_code == 200


@contextlib.contextmanager
def script_server(folder, *args):
    """serve_siamese_network.py in a process of its own; yields (its URL, its output lines so
    far) once it says it is serving, and stops it after."""
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "serve_siamese_network.py"), "--model", MODEL,
         *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=folder, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        lines = []
        deadline = time.monotonic() + TIMEOUT
        while not any("serving on" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stdout.readline())
        yield lines[-1].split()[3], lines
    finally:
        process.terminate()
        process.wait(TIMEOUT)


def test_the_script_serves_on_a_free_port_until_stopped(tmp_path):
    with script_server(tmp_path, "--port", 0) as (url, lines):
        assert url.startswith("http://127.0.0.1:")
        health = httpx.get(f"{url}/health", timeout=TIMEOUT).json()
        assert health["gallery"] is None
        assert httpx.post(f"{url}/search", files={"image": digit(1, 1)},
                          timeout=TIMEOUT).status_code == 404


def test_workers_share_one_gallery(tmp_path):
    gallery = write_digits(str(tmp_path / "gallery"), range(4), 5, seed=3)
    with socket.socket() as probe:  # a free port (--workers needs one of its own)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with script_server(tmp_path, "--gallery", gallery, "--port", port, "--workers", 2,
                       "--token", TOKEN) as (url, _):
        client = httpx.Client(base_url=url, timeout=TIMEOUT,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        deadline = time.monotonic() + TIMEOUT
        while True:  # the workers load the model after the port is open
            try:
                client.get("/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert client.post("/gallery", files={"image": digit(9, 1)},
                           data={"label": "nine"}).status_code == 201
        # whichever worker answers, it knows the enrolment
        answers = {client.post("/search", files={"image": digit(9, 7)}).json()["answer"]
                   for _ in range(8)}
        assert answers == {"nine"}


def test_bad_arguments_get_one_line_before_tensorflow(tmp_path):
    script = "serve_siamese_network.py"
    for (args, words) in [(["--gallery", tmp_path / "missing"], "does not exist"),
                          (["--model", tmp_path / "none"], "no model at"),
                          (["--port", "70000"], "--port"),
                          (["--workers", "2", "--port", "0"], "--workers")]:
        result = run_script(script, "--model", MODEL, *args)
        assert result.returncode == 1 and words in result.stderr, result.stderr
        assert result.stderr.startswith("[ERROR]") and result.stderr.count("\n") == 1


def test_an_index_file_that_is_not_an_index_is_refused(tmp_path):
    gallery = write_digits(str(tmp_path / "gallery"), range(2), 2, seed=1)
    shutil.copy(os.path.join(ROOT, "README.md"), tmp_path / "notes.npz")
    result = run_script("serve_siamese_network.py", "--model", MODEL, "--gallery", gallery,
                        "--index-file", tmp_path / "notes.npz", "--port", "0")
    assert result.returncode == 1 and "is not a gallery index" in result.stderr


def test_the_docs_answers_are_the_servers(served):
    """docs/serving.md's curl commands, sent to a server over the gallery its page makes:
    the answers it quotes, to four decimals."""
    import re

    with open(os.path.join(ROOT, "docs", "serving.md")) as f:
        page = f.read()
    (block, quoted) = re.search(r"```bash\n(curl .*?)```\n\nanswer[^\n]*\n\n```\n(.*?)```",
                                page, re.DOTALL).groups()
    for (command, expected) in zip(block.splitlines(), quoted.splitlines()):
        fields = dict(re.findall(r"-F (\w+)=(\S+)", command))
        # as curl sends a file: named by its base name
        files = {name: (os.path.basename(value[1:]),
                        open(os.path.join(ROOT, value[1:]), "rb").read())
                 for (name, value) in fields.items() if value.startswith("@")}
        data = {name: value for (name, value) in fields.items() if not value.startswith("@")}
        endpoint = command.split("http://127.0.0.1:8000")[1]
        answer = served.client.post(endpoint, files=files, data=data).json()
        assert rounded(answer) == rounded(json.loads(expected)), command


def rounded(record):
    """record with its numbers to four decimals."""
    if isinstance(record, dict):
        return {key: rounded(value) for (key, value) in record.items()}
    if isinstance(record, list):
        return [rounded(value) for value in record]
    return round(record, 4) if isinstance(record, float) else record
