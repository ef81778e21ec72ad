"""Beacon's web configuration editor in a real browser (Debian's headless Chromium via
selenium and chromium-driver) against a real demo stack (`blisstango up` of a copy of the
demo tree: BeaconDB serving the editor, Redis, AxisManager...). Screenshots of the tree,
an object view and an inline error go to $BLISSTANGO_SCREENSHOTS (the README's, in docs/,
were made with BLISSTANGO_SCREENSHOTS=docs), else to the test's temp folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.browser import Browser, have_chromium
from helpers.demo_stack import BIN, DemoStack, stack_env

from blisstango.clients.launcher.rundir import RunDir

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
MOCKUP = "motors/mockup.yml"



@pytest.fixture(scope="module", autouse=True)
def _chromium():
    assert have_chromium(), ("needs Debian's chromium and chromium-driver: "
                             "scripts/install-system-deps installs them")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, demo_config_dir=REPO / "examples" / "demo_beamline"):
    s = DemoStack(tmp_path_factory.mktemp("web_stack"), demo_config_dir).up()
    s.url = RunDir(s.run_dir).read_state()["web_url"]
    yield s
    s.down()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser()
    b.shots = Path(os.environ.get("BLISSTANGO_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    yield b
    b.quit()


def beacon(stack):
    return stack.beacon()


def object_config(stack, name):
    return json.loads(beacon(stack).GetObjectConfig(name))


def cm_js(browser, script, *args):
    """Run script with `cm` bound to the page's CodeMirror editor."""
    return browser.driver.execute_script(
        "const cm = document.querySelector('.CodeMirror').CodeMirror;" + script, *args)


def set_line(browser, number, text):
    cm_js(browser, "cm.replaceRange(arguments[1], {line: arguments[0] - 1, ch: 0},"
                   "{line: arguments[0] - 1, ch: cm.getLine(arguments[0] - 1).length});",
          number, text)


def line_number(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def text_of(browser, css):
    return browser.driver.find_element("css selector", css).text


def click(browser, css):
    browser.driver.find_element("css selector", css).click()


def button(browser, label):
    return browser.driver.find_element("xpath", f"//button[normalize-space()='{label}']")


def wait_text(browser, css, text, timeout=30):
    browser.wait(lambda d: any(text in e.text for e in d.find_elements("css selector", css)), timeout)


def screenshot(browser, name):
    browser.shots.mkdir(parents=True, exist_ok=True)
    path = browser.shots / name
    browser.driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def open_file(browser, stack, path):
    browser.driver.get(f"{stack.url}#file={path}")
    browser.wait(lambda d: d.find_element("id", "file-path").text == path)
    browser.wait(lambda d: "name:" in d.execute_script(
        "return document.querySelector('.CodeMirror').CodeMirror.getValue()"))


def test_up_prints_the_editor_url(stack):
    res = subprocess.run([str(BIN / "blisstango"), "status", "--run-dir", str(stack.run_dir)],
                         capture_output=True, text=True, timeout=60, env=stack_env())
    assert f"configuration editor: {stack.url}" in res.stdout
    assert stack.url.startswith("http://127.0.0.1:")


def test_edit_validate_save_history_diff_revert(stack, browser):
    path = stack.config / MOCKUP
    original = path.read_bytes()
    browser.driver.get(stack.url)
    wait_text(browser, "#tree li.file > span", "mockup.yml")
    browser.driver.find_element("id", "user").clear()
    browser.driver.find_element("id", "user").send_keys("tester\t")
    browser.driver.find_element("xpath", "//li[@data-path='motors/mockup.yml']/span").click()
    open_file(browser, stack, MOCKUP)
    screenshot(browser, "webconfig-tree.png")

    line = line_number(path, "velocity: 5.0")
    set_line(browser, line, "      velocity: fast      # mm/s")
    button(browser, "Save").click()
    wait_text(browser, ".cm-error-widget", f"line {line}: m0: velocity must be a number")
    assert f"{MOCKUP}:{line}" in text_of(browser, "#message")
    assert "Nothing was written" in text_of(browser, "#message")
    assert path.read_bytes() == original
    screenshot(browser, "webconfig-error.png")

    set_line(browser, line, "      velocity: 7.5       # mm/s")
    button(browser, "Save").click()
    wait_text(browser, "#message", "Saved motors/mockup.yml")
    assert "Beacon reloaded" in text_of(browser, "#message")
    before, after = original.decode().splitlines(), path.read_text().splitlines()
    assert len(before) == len(after)
    assert [(a, b) for a, b in zip(before, after) if a != b] == [
        ("      velocity: 5.0       # mm/s", "      velocity: 7.5       # mm/s")]
    assert object_config(stack, "m0")["velocity"] == 7.5  # BeaconDB serves the new value

    button(browser, "History").click()
    wait_text(browser, "#history .commits li", "edit motors/mockup.yml")
    first = browser.driver.find_elements("css selector", "#history .commits li")[0].text
    assert "tester" in first
    button(browser, "Compare A → B").click()
    wait_text(browser, "#history pre.diff .add", "velocity: 7.5")
    assert "velocity: 5.0" in text_of(browser, "#history pre.diff .del")

    restore = browser.driver.find_elements("xpath", "//button[normalize-space()='Restore this version']")
    restore[-1].click()  # the oldest version: the tree as BeaconDB found it
    wait_text(browser, "#message", "Restored motors/mockup.yml")
    assert path.read_bytes() == original
    assert object_config(stack, "m0")["velocity"] == 5.0


def test_object_view_live_device_form_and_settings(stack, browser):
    import tango

    browser.driver.get(f"{stack.url}#object=m0")
    wait_text(browser, "#device-card", "demo/axis/m0")
    browser.wait(lambda d: d.find_element("id", "live-state").text == "ON")
    card = text_of(browser, "#device-card")
    assert "BlissAxis" in card and "AxisManager/demo" in card and "exported\nyes" in card.replace(" yes", "\nyes")

    # the axis form: high limit, with its unit shown
    assert "mm/s" in text_of(browser, ".form")
    field = browser.driver.find_element("css selector", ".form input[name=high_limit]")
    field.clear()
    field.send_keys("9.5")
    browser.driver.find_element("xpath", "//div[@class='card'][.//h3[contains(., 'Axis')]]//button").click()
    wait_text(browser, "#object-view .message", "Saved m0")
    assert object_config(stack, "m0")["high_limit"] == 9.5
    db = tango.Database(*stack.tango_host.split(":"))
    props = db.get_device_attribute_property("demo/axis/m0", ["Position"])["Position"]
    assert props["max_alarm"] == ["9.5"]  # the Tango view follows the saved YAML

    # a Redis setting supersedes the YAML value; the button writes it back to YAML
    m0 = stack.device("demo/axis/m0")
    m0.write_attribute("Velocity", 3.25)
    browser.driver.refresh()
    wait_text(browser, "table.keys td.superseded", "3.25")
    screenshot(browser, "webconfig-object.png")
    button(browser, "Write the Redis settings to YAML").click()
    wait_text(browser, "#object-view .message", "written to YAML")
    assert "velocity: 3.25" in (stack.config / MOCKUP).read_text()
    assert object_config(stack, "m0")["velocity"] == 3.25


def test_duplicate_name_and_conflict_are_refused(stack, browser):
    sim = "counters/simulation.yml"
    path = stack.config / sim
    original = path.read_bytes()
    open_file(browser, stack, sim)
    cm_js(browser, "cm.replaceRange('- name: m1\\n', {line: cm.lineCount(), ch: 0});")
    button(browser, "Save").click()
    wait_text(browser, "#message", "duplicate object name 'm1'")
    msg = text_of(browser, "#message")
    assert f"{MOCKUP}:{line_number(stack.config / MOCKUP, 'name: m1')}" in msg
    assert f"{sim}:" in msg and path.read_bytes() == original

    open_file(browser, stack, sim)
    path.write_text(original.decode().replace("fwhm: 1.2", "fwhm: 1.3"))  # vim, meanwhile
    changed = path.read_bytes()
    cm_js(browser, "cm.setValue(cm.getValue().replace('center: 2.5', 'center: 2.75'))")
    button(browser, "Save").click()
    wait_text(browser, "#message", "changed on disk since it was opened")
    assert "fwhm: 1.3" in text_of(browser, "#message pre.diff .add")
    assert path.read_bytes() == changed
    shutil.copyfile(REPO / "examples" / "demo_beamline" / sim, path)
