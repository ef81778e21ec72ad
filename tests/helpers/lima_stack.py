"""A small beamline for detector tests: the demo's axes (AxisManager) and a simulated
camera (LimaSimulator), plus whatever extra YAML a test adds, run by the one demo-stack
helper (helpers.demo_stack.DemoStack: `blisstango up --detach`, ready when every device
the tree implies has started)."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers.demo_stack import DemoStack

CAMERA_YAML = """\
# A simulated camera whose beam follows the demo's axes.
- name: {name}
  plugin: lima_simulator
  width: {width}
  height: {height}
  readout_time: 0.0005
  max_frame_rate: {max_frame_rate}
  beam:
    x: 100
    y: 80
    sigma_x: 6
    sigma_y: 4
    flux: 2.0e8
    background: 2000
    follow:
      x: {{axis: m1, per_unit: 2.0}}
      y: {{axis: sl_vgap, per_unit: 10.0}}
      intensity: {{axis: m0, center: 2.5, fwhm: 1.2}}
"""


def lima_tree(dst: Path, demo_config: Path, camera: str = "cam_sim", width: int = 256, height: int = 192,
              max_frame_rate: float = 2000.0, extra: dict[str, str] | None = None) -> Path:
    """dst = demo __init__.yml + motors/ + detectors/<camera>.yml (+ extra files)."""
    dst.mkdir(parents=True)
    shutil.copy(demo_config / "__init__.yml", dst / "__init__.yml")
    shutil.copytree(demo_config / "motors", dst / "motors")
    (dst / "detectors").mkdir()
    (dst / "detectors" / f"{camera}.yml").write_text(
        CAMERA_YAML.format(name=camera, width=width, height=height, max_frame_rate=max_frame_rate))
    for rel, text in (extra or {}).items():
        path = dst / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return dst


class LimaStack(DemoStack):
    """A DemoStack of lima_tree(...)."""

    def __init__(self, workdir: Path, demo_config: Path, camera: str = "cam_sim",
                 expect_fault: tuple[str, ...] = (), **tree: object) -> None:
        super().__init__(workdir, lima_tree(Path(workdir) / "tree", demo_config, camera, **tree),
                         expect_fault=expect_fault)
        self.camera = camera
