"""A plain `pip install .` in a fresh venv gives a working blisstango, demo tree included."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


def test_plain_install_in_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    # a copy of the committed sources only, so nothing of the work tree leaks in
    src = tmp_path / "src"
    run("git", "clone", "-q", REPO, src)
    run(venv / "bin" / "pip", "install", "-q", str(src))
    out = run(venv / "bin" / "blisstango", "--help")
    assert "demo" in out and "up" in out
    code = ("import blisstango.core.config as c, blisstango.clients.cli, blisstango.examples as e, "
            "pathlib, sys; p = e.demo_config(); "
            "print(p); print(pathlib.Path(c.__file__).is_relative_to(sys.prefix))")
    out = run(venv / "bin" / "python", "-c", code, cwd=tmp_path).split()
    assert out[1] == "True", "blisstango must be imported from the venv, not the work tree"
    assert Path(out[0], "sessions", "demo.yml").is_file()
    listing = run(venv / "bin" / "blisstango", "config", out[0], cwd=tmp_path)
    assert "m0" in listing and "demo" in listing
    # the web editor's page and every asset it loads ship in the wheel (no CDN), with
    # CodeMirror's licence; every server package is installed
    code = ("import blisstango.core.webconfig as w, blisstango.servers.NexusWriter.main, "
            "blisstango.core.data.nexus, pathlib; print(pathlib.Path(w.__file__).parent)")
    web = Path(run(venv / "bin" / "python", "-c", code, cwd=tmp_path).split()[-1])
    page = (web / "templates" / "index.html").read_text()
    assert "http" not in page.replace("http-equiv", "")
    for asset in ["editor.js", "editor.css", "vendor/codemirror/codemirror.js",
                  "vendor/codemirror/codemirror.css", "vendor/codemirror/mode/yaml/yaml.js",
                  "vendor/codemirror/addon/active-line.js", "vendor/codemirror/LICENSE"]:
        assert (web / "static" / asset).is_file(), asset
        assert asset.rpartition("/")[2] in page or asset.endswith("LICENSE")
