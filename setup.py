"""Packages by discovery: every folder under a folder that setup.cfg's package_dir maps
into the blisstango namespace is a package of the wheel (no hand-kept list: such a list
once left NexusWriter out). Everything else is declared in setup.cfg."""

import configparser
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent


def package_dir() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(HERE / "setup.cfg")
    pairs = (line.split("=", 1) for line in cfg["options"]["package_dir"].splitlines() if line.strip())
    return {name.strip(): folder.strip() for name, folder in pairs}


def packages(mapping: dict[str, str]) -> list[str]:
    """Each mapped package whose folder exists, and every folder below it (namespace
    discovery: a data folder such as examples/demo_beamline/motors is a package too, so
    package_data ships its files; caches and hidden folders are not packages)."""
    found = []
    for name, folder in mapping.items():
        if not (HERE / folder).is_dir():
            continue
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_namespace_packages(str(HERE / folder))
                  if not any(part.startswith((".", "__")) for part in sub.split("."))]
    return sorted(set(found))


MAPPING = package_dir()
setup(package_dir=MAPPING, packages=packages(MAPPING))
