"""Errors where the author looks (issue #16 item 5): validation problems in the browser while
serving, and reports anchored to the knowledge base's own data (the ``today`` option)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.render import report_day
from generator.settings import ConfigError, Settings, settings_from_options
from tests.sitebuild import ENGINES, ROOT, engine_available, fetch, free_port, make_project

BROKEN = "2024-06-11-search-disk-full-logs.md"


def break_title(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(r"^title: (.*)$", r'title: "\1', text, count=1, flags=re.M)
    assert n == 1
    path.write_text(text, encoding="utf-8")


def serve_build(project: Path, site: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(project / "mkdocs.yml"), site_dir=str(site))
    config.plugins.on_startup(command="serve", dirty=False)
    build(config, serve_url="http://127.0.0.1:8000/")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_under_serve_a_file_with_errors_shows_its_problems_at_its_own_address(tmp_path):
    project = make_project(tmp_path / "p")
    break_title(project / "postmortems" / BROKEN)
    serve_build(project, tmp_path / "site")
    page = (tmp_path / "site" / BROKEN[:-3] / "index.html").read_text(encoding="utf-8")
    shown = text_of(page)
    assert f"Errors in {BROKEN}" in shown
    assert "1 error(s): this page stands in for the post-mortem until they are fixed" in shown
    assert "<td>yaml-syntax</td>" in page and 'the double quote (") opened here is never closed' in page
    line = next(i for i, text in enumerate((project / "postmortems" / BROKEN).read_text().splitlines(), 1)
                if text.startswith("title:"))
    assert f"<td>{line}:8</td>" in page and "<code>title</code>" in page
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "1 post-mortem(s) have validation errors: the preview leaves them out" in home
    assert re.search(rf'<li><a href="{BROKEN[:-3]}/">[^<]*postmortems/{BROKEN}</a>: 1 error\(s\)</li>', home)
    # The rest of the site is built without it.
    incidents = (tmp_path / "site" / "incidents" / "index.html").read_text(encoding="utf-8")
    assert BROKEN[:-3] not in incidents and "2024-07-01-search-volume-full-again" in incidents


def test_mkdocs_build_still_stops_on_the_error(tmp_path):
    project = make_project(tmp_path / "p")
    break_title(project / "postmortems" / BROKEN)
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", str(tmp_path / "site")], cwd=project,
                          capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 1
    assert f"postmortems/{BROKEN}:" in done.stderr and "yaml-syntax title" in done.stderr


def wait_for(url: str, needle: str, timeout: float = 240) -> str:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        body = fetch(url)
        if body is not None and needle in body:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never showed at {url}")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_real_serve_shows_the_error_then_the_fixed_page(tmp_path, engine):
    """``mkdocs serve`` and ``pmkb serve --engine zensical``: a save that breaks a post-mortem
    shows its errors at its own address, the fix shows the post-mortem again, and an edited
    summary shows on the page (the live preview an author writes with)."""
    if not engine_available(engine):
        pytest.skip("the [zensical] extra is not installed")
    project = make_project(tmp_path / "p")
    port = free_port()
    url = f"http://127.0.0.1:{port}/{BROKEN[:-3]}/"
    command = ([sys.executable, "-m", "mkdocs", "serve", "--livereload", "-a", f"127.0.0.1:{port}"]
               if engine == "mkdocs" else
               [sys.executable, "-c", "from generator.cli import main; main()", "serve", "--engine", "zensical",
                "-a", f"127.0.0.1:{port}"])
    process = subprocess.Popen(command,
                               cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, start_new_session=True)
    try:
        wait_for(url, "pmkb-card")
        path = project / "postmortems" / BROKEN
        good = path.read_text(encoding="utf-8")
        break_title(path)
        wait_for(url, f"Errors in {BROKEN}")
        path.write_text(good, encoding="utf-8")  # fixed: the page is the post-mortem again
        page = wait_for(url, "pmkb-card")
        assert f"Errors in {BROKEN}" not in page
        path.write_text(good.replace("\nsummary: >-\n  ", "\nsummary: >-\n  Edited while serving. ", 1), encoding="utf-8")
        page = wait_for(url, "Edited while serving.")
        assert f"Errors in {BROKEN}" not in page and "pmkb-card" in page
        # a file that loads but breaks a rule (not YAML) shows its error page too, not a 404
        assert good.count("\nseverity: SEV3\n") == 1
        path.write_text(good.replace("\nseverity: SEV3\n", "\nseverity: SEV9\n"), encoding="utf-8")
        page = wait_for(url, f"Errors in {BROKEN}")
        assert "field-enum" in page and "SEV9" in page
        home = fetch(f"http://127.0.0.1:{port}/")
        assert home is not None and BROKEN in home  # the banner names it
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- today ---------------------------------------------------------------------------------------

def test_the_today_option_reads_a_day_latest_or_nothing():
    assert settings_from_options({"today": "latest"}).today == "latest"
    assert settings_from_options({"today": dt.date(2025, 6, 30)}).today == "2025-06-30"
    assert settings_from_options({"today": "2025-06-30"}).today == "2025-06-30"
    assert settings_from_options({}).today is None
    with pytest.raises(ConfigError, match=r"'today' must be a day \(YYYY-MM-DD\), 'latest'"):
        settings_from_options({"today": "yesterday"})
    with pytest.raises(ConfigError, match="'today' must be a day"):
        settings_from_options({"today": "2025-02-30"})


class _PM:
    def __init__(self, day):
        self.date = day


def test_report_day_is_the_option_the_latest_incident_or_the_build_day(monkeypatch):
    pms = [_PM(dt.date(2021, 3, 1)), _PM(dt.date(2025, 11, 18)), _PM(dt.date(2019, 1, 2))]
    assert report_day("latest", pms) == dt.date(2025, 11, 18)
    assert report_day("2024-01-31", pms) == dt.date(2024, 1, 31)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    assert report_day(None, pms) == dt.date(2023, 11, 14)
    assert report_day("latest", []) == dt.date(2023, 11, 14)


def test_the_shipped_reports_are_anchored_to_the_latest_incident(tmp_path):
    shutil.copytree(ROOT / "postmortems", tmp_path / "postmortems")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    done = subprocess.run([sys.executable, "-c", "from generator.cli import main; main()", "report", "--format",
                           "json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout)
    latest = max(line.split(":", 1)[1].strip() for p in (tmp_path / "postmortems").glob("*.md")
                 for line in p.read_text(encoding="utf-8").splitlines() if line.startswith("date:"))
    assert report["today"] == latest == "2025-11-18"
    done = subprocess.run([sys.executable, "-c", "from generator.cli import main; main()", "report"], cwd=tmp_path,
                          capture_output=True, text=True)
    # Tester finding: a team that copies the demo's mkdocs.yml must see why its figures stop there.
    assert ("*As of 2025-11-18 (UTC), the date of the latest incident (the option `today: latest`; without it, "
            "the day of the build).*") in done.stdout
    assert "In the last 12 months: **1 incident** (SEV1 1)." in done.stdout
    given = subprocess.run([sys.executable, "-c", "from generator.cli import main; main()", "report", "--today",
                            "2025-12-01"], cwd=tmp_path, capture_output=True, text=True)
    assert "*As of 2025-12-01 (UTC).*" in given.stdout


def test_an_error_page_escapes_and_masks_what_it_quotes(tmp_path):
    """The page that stands in for a broken file quotes its lines in messages and fixes: markup
    arrives as text, and a credential of the file is masked, as in pmkb validate's output."""
    project = make_project(tmp_path / "p")
    path = project / "postmortems" / BROKEN
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text = re.sub(r"^title: (.*)$", lambda m: f'title: "<img src=x onerror=alert(1)> {m.group(1)}', path.read_text(),
                  count=1, flags=re.M)
    path.write_text(text.replace("\n---\n", f"\n---\n\naws_secret_access_key = {secret}\n", 1), encoding="utf-8")
    serve_build(project, tmp_path / "site")
    page = (tmp_path / "site" / BROKEN[:-3] / "index.html").read_text(encoding="utf-8")
    assert "<td>yaml-syntax</td>" in page and "<td>secret</td>" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert secret not in page and "…EKEY" in page and "wJal" not in page
