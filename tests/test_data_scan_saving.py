"""SCAN_SAVING: template keys (fixed and functions), persisted values, and scan numbers
that continue after a restart (and after a wiped Redis, from the dataset file)."""

import h5py
import pytest
import redis

from blisstango.core.counters import SimulationCounter, SimulationCounterController
from blisstango.core.data import ScanReader, ScanSaving
from blisstango.core.scanning import ScanContext
from blisstango.core.scanning.scans import ct, loopscan


@pytest.fixture
def settings(redis_servers, request):
    r = redis.Redis.from_url(redis_servers.settings_url)
    session = f"ss_{request.node.name}"[:50]
    for k in r.scan_iter(match=f"settings:scan_saving:{session}*"):
        r.delete(k)
    return r, session


def test_template_with_function_keys_resolves(settings, tmp_path):
    r, session = settings
    ss = ScanSaving(session, r)
    ss.base_path = str(tmp_path)
    ss.template = "{proposal}/{beamline}/{sample}_{dataset}"
    ss.data_filename = "{sample}_{dataset}"
    ss.add("proposal", "mx1234")
    ss.add("beamline", lambda: "id00")
    ss.add("sample", lambda s: f"{s.proposal}-lyso")
    ss.dataset = 3
    got = ss.get()
    assert got["data_path"] == str(tmp_path / "mx1234" / "id00" / "mx1234-lyso_3")
    assert got["filename"] == str(tmp_path / "mx1234" / "id00" / "mx1234-lyso_3" / "mx1234-lyso_3.h5")
    assert got["root_path"] == str(tmp_path) and got["writer"] == "nexus"
    ss.template = "{session}/{missing_key}"
    with pytest.raises(KeyError, match="template '{session}/{missing_key}' uses unknown key.*missing_key"):
        ss.get()
    with pytest.raises(ValueError, match="writer 'tiff'"):
        ss.writer = "tiff"


def test_fixed_values_persist_functions_do_not(settings, tmp_path):
    r, session = settings
    ss = ScanSaving(session, r)
    ss.base_path = str(tmp_path)
    ss.add("proposal", "ihch999")
    ss.add("sample", lambda: "runtime")
    again = ScanSaving(session, r)  # a restarted process
    assert again.base_path == str(tmp_path) and again.proposal == "ihch999"
    with pytest.raises(AttributeError, match="no key 'sample'"):
        _ = again.sample


def test_scan_numbers_continue_after_restart_and_count_per_file(settings, tmp_path, data_redis):
    r, session = settings
    counter = SimulationCounter("ssflat", curve="flat", background=1.0,
                                controller=SimulationCounterController("sssim"))

    def context():
        ss = ScanSaving(session, r, base_path=str(tmp_path))
        return ScanContext(session, data_redis=data_redis, scan_saving=ss)

    ctx = context()
    numbers = [loopscan(2, 0, counter, context=ctx).scan_number for _ in range(3)]
    assert numbers == [1, 2, 3]
    s = loopscan(2, 0, counter, context=ctx)
    info = ScanReader(data_redis, s.key).info
    assert info["scan_nb"] == 4 and info["filename"] == ctx.scan_saving.filename
    assert ct(0, counter, context=ctx).scan_number is None  # ct is not saved: no number used

    ctx = context()  # restart: new objects, same settings Redis
    assert loopscan(2, 0, counter, context=ctx).scan_number == 5
    ctx.scan_saving.data_filename = "other"  # a new dataset file counts from 1
    assert loopscan(2, 0, counter, context=ctx).scan_number == 1
    ctx.scan_saving.data_filename = "{session}_data"
    assert loopscan(2, 0, counter, context=ctx).scan_number == 6


def test_numbers_follow_the_file_when_redis_lost_them(settings, tmp_path):
    r, session = settings
    ss = ScanSaving(session, r, base_path=str(tmp_path))
    path = ss.get()["filename"]
    (tmp_path / session).mkdir(parents=True)
    with h5py.File(path, "w") as f:
        for n in ("1.1", "2.1", "7.1"):
            f.create_group(n)
    assert ss.next_scan_number() == 8
    r.delete(f"settings:scan_saving:{session}:scan_numbers")  # Redis wiped
    assert ScanSaving(session, r, base_path=str(tmp_path)).next_scan_number() == 8
