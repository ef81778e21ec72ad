"""`python -m blisstango.core.config <dir>` run as a real process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers.config_trees import copy_sample, line_of, write


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "blisstango.core.config", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.e2e
def test_cli_lists_demo_objects_and_sessions(demo_config):
    res = _run(demo_config)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    m0 = next(ln.split() for ln in lines if ln.split()[:1] == ["m0"])
    line = line_of(demo_config / "motors" / "mockup.yml", "- name: m0")
    assert m0 == ["m0", "emotion", f"motors/mockup.yml:{line}"]
    line = line_of(demo_config / "counters" / "simulation.yml", "- name: diode")
    assert ["diode", "counters", f"counters/simulation.yml:{line}"] in [ln.split() for ln in lines]
    demo = next(ln.split() for ln in lines if ln.startswith("  demo: "))
    assert {"diode", "diode2", "m0", "m1", "sl_down", "sl_up"} <= set(demo[1:])
    assert any(ln.strip().startswith("setup-file:") and ln.endswith("demo_setup.py")
               for ln in lines)


@pytest.mark.e2e
def test_cli_broken_tree_exits_1_with_error_lines(tmp_path):
    root = copy_sample(tmp_path / "demo")
    write(root, "motors/dup.yml", "# again\n- name: m0\n")
    write(root, "counters/bad.yml", "- name: x\n  a: [1,\n")
    res = _run(root)
    assert res.returncode == 1
    assert res.stdout == ""
    err = res.stderr.splitlines()
    assert "2 configuration error(s)" in err[0]
    assert any(ln.strip().startswith("motors/mockup.yml:7: duplicate object name 'm0'")
               and "motors/dup.yml:2" in ln for ln in err)
    assert any(ln.strip().startswith("counters/bad.yml:3: YAML syntax error") for ln in err)


def test_cli_main_function_returns_codes(demo_config, tmp_path, capsys):
    from blisstango.core.config.cli import main

    assert main([str(demo_config)]) == 0
    assert "mockctrl" in capsys.readouterr().out
    write(tmp_path, "a.yml", "- name: a\n  axis: $nothing\n")
    assert main([str(tmp_path)]) == 1
    assert "a.yml:2: a: reference $nothing names no object" in capsys.readouterr().err
