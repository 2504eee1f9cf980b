"""A web page the learner visits cannot use the lab's own endpoints (issue 19, item 11).

A real browser (headless Chromium) opens a page of another site that tries what such a page
can: forms posted to `/_labkit/settings`, `/_labkit/clock` and `/_labkit/shutdown` (the
text/plain form that smuggles a JSON body included), `fetch` in no-cors mode, and a `fetch`
that tries to read the trace. The lab's log shows each request arrived and was refused; the
lab keeps its token lifetime, its clock and its process, and the page reads nothing.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import lab_browser
from tests.conftest import free_port, need

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html><body>
<iframe name="sink" src="about:blank"></iframe>
<form id="plain" method="POST" enctype="text/plain" target="sink"
      action="{lab}/_labkit/settings">
  <input name='{{"token_ttl": 5, "x": "' value='"}}'>
</form>
<form id="urlencoded" method="POST" target="sink" action="{lab}/_labkit/clock">
  <input name="advance" value="1000d">
</form>
<form id="shutdown" method="POST" enctype="text/plain" target="sink"
      action="{lab}/_labkit/shutdown">
  <input name='{{"pid": {pid}, "x": "' value='"}}'>
</form>
<script>
window.results = {{}};
const pause = () => new Promise(r => setTimeout(r, 300));
async function attempt(name, f) {{
  try {{ window.results[name] = await f(); }} catch (e) {{ window.results[name] = 'blocked: ' + e.name; }}
}}
async function attack() {{
  document.getElementById('plain').submit();
  await pause();
  document.getElementById('urlencoded').submit();
  await pause();
  await attempt('settings', () => fetch('{lab}/_labkit/settings', {{method: 'POST',
      mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}}, body: '{{"token_ttl": 6}}'}})
      .then(() => 'sent'));
  await attempt('gc', () => fetch('{lab}/_labkit/gc', {{method: 'POST', mode: 'no-cors'}})
      .then(() => 'sent'));
  await attempt('trace', () => fetch('{lab}/_labkit/trace')
      .then(r => r.text()).then(t => 'read: ' + t.slice(0, 100)));
  document.getElementById('shutdown').submit();
  await pause();
  window.results.done = true;
}}
attack();
</script>
</body></html>
"""


@pytest.fixture()
def evil_site(lab: Any, tmp_path: Path) -> Iterator[str]:
    """A page of another site (http://localhost:PORT, not the lab's 127.0.0.1)."""
    (tmp_path / "index.html").write_text(PAGE.format(lab=lab.endpoint_url, pid=lab.pid))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kw: Any):
            super().__init__(*args, directory=str(tmp_path), **kw)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def refusals(lab: Any, since: int) -> str:
    log = (Path(lab.home) / "lab.log").read_text(errors="replace")[since:]
    return "\n".join(line for line in log.splitlines() if "refused" in line)


def test_a_page_of_another_site_gets_nothing_done(lab: Any, evil_site: str,
                                                  tmp_path: Path) -> None:
    need(not lab_browser.missing(), lab_browser.missing())
    before = (lab.status()["token_ttl"], lab.clock()["offset"])
    log_start = len((Path(lab.home) / "lab.log").read_text(errors="replace"))
    driver = lab_browser.chromium(tmp_path / "profile")
    try:
        driver.get(evil_site)
        results = lab_browser.wait_for(driver, "window.results && window.results.done "
                                       "&& window.results", 30, "the page's attempts")
        # the lab saw every attempt (so the test would see one that worked) and refused it
        deadline = time.monotonic() + 10
        wanted = ("/_labkit/settings", "/_labkit/clock", "/_labkit/shutdown", "/_labkit/gc",
                  "/_labkit/trace")
        while time.monotonic() < deadline:
            seen = refusals(lab, log_start)
            if all(path in seen for path in wanted):
                break
            time.sleep(0.2)
        seen = refusals(lab, log_start)
        for path in wanted:
            assert path in seen, f"the lab never saw the page's request to {path}:\n{seen}"
        assert "cross-site" in seen or "another origin" in seen
    finally:
        driver.quit()
    assert results["trace"].startswith("blocked"), results
    assert (lab.status()["token_ttl"], lab.clock()["offset"]) == before
    assert lab.status()["pid"] == lab.pid  # still running
