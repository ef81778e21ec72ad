"""The web configuration editor, as a person using it waits for it (prints JSON).

For the demo tree and for config_bench's 10,000-object tree, each served by a real
BeaconDB process with its editor (`--web-port 0`, no Redis):

* save: wall time of one edit through HTTP (POST /api/file: whole-tree validation with
  the edit applied, the atomic write through ConfigWriter, the git commit, Beacon's
  reload) until the answer arrives;
* objects: GET /api/objects (every object of the tree) and, in headless Chromium, the
  page opened on its Objects tab until the list is drawn.

Peers measured in the same run on the same BeaconDB: its Tango `Reload` command (the
validation Beacon itself does, with no write), and the bare write of the same text
without any validation (atomic_write_text, to a file beside the tree) — the floor a
save cannot beat. save_steps_median_ms splits a save: snapshot (changes made outside),
edit, validate, write, commit (git), reload.
`python bench/web_bench.py [repeat]`
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from config_bench import generate  # noqa: E402

from blisstango.core.beacon import BEACON_DEVICE  # noqa: E402
from blisstango.core.config.atomic import atomic_write_text  # noqa: E402
from blisstango.examples import demo_config  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Beacon:
    """A BeaconDB process serving the editor for one tree."""

    def __init__(self, root: Path, work: Path):
        self.root, self.port = root, free_port()
        run = work / "run"
        env = {**os.environ, "TANGO_HOST": f"127.0.0.1:{self.port}"}
        self.log = open(work / "beacondb.log", "wb")
        self.proc = subprocess.Popen(
            [str(BIN / "BeaconDB"), "2", "--host", "127.0.0.1", "--port", str(self.port),
             "--config", str(root), "--run-dir", str(run), "--no-redis", "--web-port", "0"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        url_file = run / "web-url"
        deadline = time.monotonic() + 120
        while not url_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"BeaconDB did not start: see {work / 'beacondb.log'}")
            time.sleep(0.1)
        self.web_port = int(re.search(r":(\d+)/", url_file.read_text()).group(1))
        self.http = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=60)
        self.http.connect()  # as browsers and curl do: no Nagle delay on the client side
        self.http.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        page = self.get("/")[1]
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        import tango

        while True:
            try:
                self.beacon = tango.DeviceProxy(f"tango://127.0.0.1:{self.port}/{BEACON_DEVICE}")
                self.beacon.set_timeout_millis(60000)
                self.beacon.ping()
                break
            except tango.DevFailed:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def get(self, path: str) -> tuple[int, str]:
        self.http.request("GET", path)
        resp = self.http.getresponse()
        return resp.status, resp.read().decode()

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        self.http.request("POST", path, json.dumps(body), {
            "Content-Type": "application/json", "X-CSRF-Token": self.csrf, "X-User": "bench"})
        resp = self.http.getresponse()
        return resp.status, json.loads(resp.read())

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def measure_tree(name: str, root: Path, file: str, old: str, new: str, repeat: int,
                 browser) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"web_bench_{name}_"))
    beacon = Beacon(root, work)
    try:
        saves, reloads, bare, lists, steps = [], [], [], [], []
        path = root / file
        for i in range(repeat):
            text = path.read_text()
            edited = text.replace(old, new, 1) if i % 2 == 0 else text.replace(new, old, 1)
            t0 = time.perf_counter()
            status, answer = beacon.post("/api/file", {"path": file, "text": edited, "base": text})
            saves.append(time.perf_counter() - t0)
            assert status == 200 and answer["commit"], answer
            steps.append(answer["timings_ms"])
            t0 = time.perf_counter()
            beacon.beacon.Reload()
            reloads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()  # outside the tree: a write there is a change by hand
            atomic_write_text(work / path.name, edited)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            status, body = beacon.get("/api/objects")  # what the Objects tab asks
            lists.append(time.perf_counter() - t0)
            count = json.loads(body)["total"]
        page = []
        if browser is not None:
            url = f"http://127.0.0.1:{beacon.web_port}/"
            for _ in range(max(3, repeat // 2)):
                browser.driver.get("about:blank")
                t0 = time.perf_counter()
                browser.driver.get(url)
                browser.driver.find_element("id", "tab-objects").click()
                browser.wait(lambda d: "object(s)" in d.find_element("id", "count").text)
                page.append(time.perf_counter() - t0)
        return {
            "objects": count,
            "save_validated_median_ms": median_ms(saves),
            "save_validated_max_ms": round(max(saves) * 1000, 1),
            "save_steps_median_ms": {k: round(statistics.median(s[k] for s in steps), 1)
                                     for k in steps[0]},
            "peer_beacon_reload_median_ms": median_ms(reloads),
            "peer_bare_write_median_ms": median_ms(bare),
            "object_list_api_median_ms": median_ms(lists),
            "object_list_page_median_ms": median_ms(page) if page else None,
        }
    finally:
        beacon.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    browser = None
    try:
        from helpers.browser import Browser, have_chromium

        if have_chromium():
            browser = Browser()
    except ImportError:
        pass
    result = {}
    try:
        with tempfile.TemporaryDirectory(prefix="web_bench_") as tmp:
            demo = Path(tmp) / "demo"
            shutil.copytree(demo_config(), demo)
            result["demo"] = measure_tree("demo", demo, "motors/mockup.yml", "velocity: 5.0",
                                          "velocity: 5.5", repeat, browser)
            big = Path(tmp) / "big"
            big.mkdir()
            generate(big)
            result["tree_10000"] = measure_tree("big", big, "hutch05/f0500.yml", "velocity: 5.0",
                                                "velocity: 5.5", repeat, browser)
    finally:
        if browser is not None:
            browser.quit()
    result["goals"] = {"save_demo_ms": 100, "save_10000_ms": 1500, "object_list_ms": 1000}
    result["loadavg_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
