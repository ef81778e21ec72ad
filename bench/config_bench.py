"""Load time of a 10,000-object, 1,000-file configuration tree (prints JSON).

Peer figure: the same files only parsed with ruamel.yaml round-trip (the writer's
loader), which is what a naive loader would use. CPU seconds are given beside wall
seconds because the machine is shared. `python bench/config_bench.py [repeat]`
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from blisstango.core.config import load_tree, loader
from blisstango.core.config.loader import iter_yaml_files


def generate(root: Path, n_files: int = 1000, per_file: int = 10) -> None:
    """Folders of 100 files; each file a controller whose axes are objects, plus counters."""
    for f in range(n_files):
        folder = root / f"hutch{f // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "__init__.yml").exists():
            (folder / "__init__.yml").write_text(
                f"# defaults of hutch {f // 100}\nplugin: default\ntango:\n  domain: h{f // 100}\n")
        lines = [f"# file {f}: one controller, {per_file - 2} axes, one counter"]
        lines += [f"- name: ctrl{f}", "  class: Mockup", "  tango:", "    server: bench",
                  "  axes:"]
        for a in range(per_file - 2):
            lines += [f"    - name: ax{f}_{a}", "      unit: mm  # millimetres",
                      "      velocity: 5.0", "      acceleration: 50.0",
                      "      low_limit: -10.0", "      high_limit: 10.0",
                      "      steps_per_unit: 1000"]
        lines += [f"- name: cnt{f}", "  class: SimulationCounter", f"  axis: $ax{f}_0",
                  "  curve: gaussian", "  center: 2.5", "  fwhm: 1.2"]
        (folder / f"f{f:04d}.yml").write_text("\n".join(lines) + "\n")
    (root / "session.yml").write_text(
        "- name: all\n  plugin: session\n  config-objects: ['ax*', 'cnt*']\n")


def ruamel_load(root: Path) -> int:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    count = 0
    for _, rel in iter_yaml_files(root):
        data = yaml.load((root / rel).read_text())
        count += len(data) if isinstance(data, list) else 1
    return count


def timed(fn, repeat: int, cold: bool = True) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) of each run; cold runs forget the parse cache."""
    wall, cpu = [], []
    for _ in range(repeat):
        if cold:
            loader._parsed.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def main() -> int:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="config_bench_") as tmp:
        root = Path(tmp)
        generate(root)
        tree = load_tree(root)
        wall, cpu = timed(lambda: load_tree(root), repeat)
        reload_wall, _ = timed(lambda: tree.reload(), repeat, cold=False)
        rt_wall, rt_cpu = timed(lambda: ruamel_load(root), max(1, repeat // 2))
        med = statistics.median
        result = {
            "files": len(tree.files()),
            "objects": len(tree),
            "load_median_s": round(med(wall), 3),
            "load_min_s": round(min(wall), 3),
            "load_cpu_median_s": round(med(cpu), 3),
            "reload_unchanged_median_s": round(med(reload_wall), 3),
            "ruamel_roundtrip_parse_median_s": round(med(rt_wall), 3),
            "ruamel_roundtrip_parse_min_s": round(min(rt_wall), 3),
            "ruamel_roundtrip_parse_cpu_median_s": round(med(rt_cpu), 3),
            "speedup_vs_ruamel_cpu": round(med(rt_cpu) / med(cpu), 1),
            "loadavg_1min": round(os.getloadavg()[0], 2),  # the machine is shared
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
