"""A wheel built from a clean clone, installed (not editable) in a fresh venv outside the
checkout, holds every module on disk, imports each of them and each entry point, and
runs `blisstango demo` to its end."""

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import psutil
import pytest
from helpers.procs import free_port

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e

#: imports every module of the installed package (`__main__` modules run a program, and
#: session setup files of the example trees are configuration run in a session's
#: namespace: both are checked by running them elsewhere, not imported) and
#: loads every entry point of the distribution; prints what failed
IMPORT_ALL = r"""
import importlib, importlib.metadata as md, pkgutil, sys, traceback
import blisstango
failed, count = [], 0
for mod in pkgutil.walk_packages(blisstango.__path__, "blisstango."):
    if mod.name.endswith(".__main__") or mod.name.startswith("blisstango.examples.") and not mod.ispkg:
        continue
    count += 1
    try:
        m = importlib.import_module(mod.name)
        assert m.__file__ is None or m.__file__.startswith(sys.prefix), m.__file__
    except BaseException:
        failed.append(mod.name + ": " + traceback.format_exc(limit=1).strip().splitlines()[-1])
eps = [ep for ep in md.distribution("blisstango").entry_points]
for ep in eps:
    try:
        ep.load()
    except BaseException:
        failed.append(f"entry point {ep.group}:{ep.name}: " + traceback.format_exc(limit=1).strip().splitlines()[-1])
print(f"modules {count} entry_points {len(eps)}")
print("\n".join(failed))
"""


def run(*cmd, **kw) -> str:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


def modules_on_disk(src: Path) -> set[str]:
    """blisstango.<...> module names of every committed .py file under a mapped folder."""
    cfg = configparser.ConfigParser()
    cfg.read(src / "setup.cfg")
    mapping = dict(line.replace(" ", "").split("=", 1)
                   for line in cfg["options"]["package_dir"].splitlines() if line.strip())
    files = run("git", "-C", src, "ls-files", "*.py").split()
    out = set()
    for f in files:
        for name, folder in mapping.items():
            if f.startswith(folder + "/"):
                rel = Path(f[len(folder) + 1:]).with_suffix("")
                out.add(".".join([name, *rel.parts]).removesuffix(".__init__"))
    return out


def test_wheel_from_clean_clone_installs_every_module_and_runs_the_demo(tmp_path):
    src = tmp_path / "src"
    run("git", "clone", "-q", REPO, src)  # committed sources only: nothing of the work tree leaks in
    run(BIN / "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src)
    wheel = next((tmp_path / "dist").glob("blisstango-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    in_wheel = {n[:-3].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")}
    missing = modules_on_disk(src) - in_wheel
    assert not missing, f"modules on disk but not in the wheel: {sorted(missing)}"
    assert "blisstango/examples/demo_beamline/sessions/demo.yml" in names

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "pip", "install", "-q", wheel)
    out = run(venv / "bin" / "python", "-c", IMPORT_ALL, cwd=tmp_path).strip().splitlines()
    assert out[1:] == [], "\n".join(out)
    # walked them all: every module of the wheel but the root, `__main__` modules and the
    # example trees' own Python files (setup files, procedures, objects: configuration)
    packages = {n[:-len("/__init__.py")].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    walked = {m for m in in_wheel if m != "blisstango" and not m.endswith(".__main__")
              and not (m.startswith("blisstango.examples.") and m not in packages)}
    assert int(out[0].split()[1]) == len(walked)

    assert "demo" in run(venv / "bin" / "blisstango", "--help", cwd=tmp_path)
    code = ("import blisstango.examples as e, blisstango.core.webconfig as w, pathlib; "
            "print(e.demo_config()); print(pathlib.Path(w.__file__).parent)")
    demo, web = (Path(p) for p in run(venv / "bin" / "python", "-c", code, cwd=tmp_path).split())
    listing = run(venv / "bin" / "blisstango", "config", demo, cwd=tmp_path)
    assert "m0" in listing and "demo" in listing
    # the web editor's page and every asset it loads ship in the wheel (no CDN), with
    # CodeMirror's licence
    page = (web / "templates" / "index.html").read_text()
    assert "http" not in page.replace("http-equiv", "")
    for asset in ["editor.js", "editor.css", "vendor/codemirror/codemirror.js",
                  "vendor/codemirror/codemirror.css", "vendor/codemirror/mode/yaml/yaml.js",
                  "vendor/codemirror/addon/active-line.js", "vendor/codemirror/LICENSE"]:
        assert (web / "static" / asset).is_file(), asset
    run_dir = tmp_path / "demo_run"
    out = run(venv / "bin" / "blisstango", "demo", "--port", free_port(), "--run-dir", run_dir, cwd=tmp_path)
    file, entry = out.split("HDF5 file: ", 1)[1].split()[:3:2]
    with h5py.File(file, "r") as f:
        assert len(f[entry]["measurement/diode"]) == 26
    assert "no process left running" in out
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"])
                 if str(run_dir) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
