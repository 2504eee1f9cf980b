"""Headless Chromium (Debian's `chromium` + `chromium-driver`) driving JupyterLab via Selenium.

The driver path is passed explicitly, so Selenium Manager never downloads a browser or a
driver. Used by the browser test and the time-to-JupyterLab benchmark.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1800")


def missing() -> str:
    """Why a browser test cannot run here ('' when it can)."""
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(os.path.basename(path))):
            return f"{path} is missing (apt-get install {pkg})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return ""


def jupyterlab_env(root: Path) -> dict[str, str]:
    """JupyterLab settings and layouts of its own under `root`, so a run neither reads nor
    writes the user's (~/.jupyter/lab): no tabs restored from another run. Every cell stays in
    the page (no windowing), so the DOM holds the whole notebook; what is drawn is the same as
    with a learner's defaults."""
    tracker = root / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    return {"JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}


def chromium(profile: Path, flags: tuple[str, ...] = ()) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    return driver


def trusting(certificate: Path) -> tuple[str, ...]:
    """Chromium's flag that accepts exactly this server certificate's key (its SPKI's SHA-256),
    as a browser that trusts the room's CA would accept it, and nothing else."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return (f"--ignore-certificate-errors-spki-list="
            f"{base64.b64encode(hashlib.sha256(spki).digest()).decode()}",)


def wait_for(driver: Any, js: str, timeout: float, what: str) -> Any:
    """Poll `return <js>` until it is truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = driver.execute_script(f"return {js}")
        except Exception as e:  # noqa: BLE001 - the page may be mid-load
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


NOTEBOOK_READY = r"""(() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel || panel.querySelector('.jp-Spinner')) return false;  // still loading
    const text = [...panel.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')]
        .map(m => m.textContent.trim()).join('');
    const bar = document.querySelector('#jp-main-statusbar');
    return text.length > 0 && !!bar && /\|\s*Idle/.test(bar.textContent);
})()"""


def open_notebook(driver: Any, url: str, timeout: float = 120) -> None:
    """Load a notebook URL and wait until its markdown is drawn (no loading spinner) and the
    status bar says its kernel is idle."""
    driver.get(url)
    wait_for(driver, NOTEBOOK_READY, timeout, "the notebook and an idle kernel")


def menu(driver: Any, label: str, commands: tuple[str, ...]) -> None:
    """Click a menu bar entry, then the first of `commands` it shows (JupyterLab's ids)."""
    from selenium.webdriver.common.by import By

    menus = driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
    next(m for m in menus if m.text.strip() == label).click()
    css = ", ".join(f'.lm-Menu-item[data-command="{c}"]' for c in commands)
    item = wait_for(driver, f"document.querySelector({json.dumps(css)})", 10,
                    f"{label} > {commands[0]}")
    item.click()


RUN_STATE = r"""(() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim()).filter(t => t !== '');  // a collapsed input shows none
    const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const idle = ind && ind.dataset.status === 'idle';
    if (prompts.some(t => t.includes('*')) || !idle) return 'running';
    const ran = prompts.filter(t => /\[\d+\]/.test(t)).length;
    if (ran === 0) return 'not started';  // the click landed before the notebook was ready
    return ran === prompts.length ? 'done' : 'stopped';
})()"""

# The code cells' prompts of the notebook on screen ("[3]:", "[ ]:", "[*]:").
PROMPTS = r"""return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) '
    + '.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim())"""

# The text of the error outputs in the notebook on screen (why Run All stopped).
ERRORS = r"""return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) '
    + '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(e => e.textContent).join('\n').slice(-3000)"""


def run_all(driver: Any, timeout: float = 600) -> None:
    """Edit > Clear Outputs of All Cells (so what is checked comes from this run), then
    Run > Run All Cells, as a learner clicks them; wait until every code cell has run."""
    cleared = ("[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
               ".jp-OutputArea-output')].length === 0")
    for attempt in (1, 2):  # on a loaded machine the first click can land before the menu is ready
        menu(driver, "Edit", ("editmenu:clear-all", "notebook:clear-all-cell-outputs"))
        try:
            wait_for(driver, cleared, 45, "the outputs to clear")
            break
        except AssertionError:
            if attempt == 2:
                raise
    menu(driver, "Run", ("runmenu:run-all", "notebook:run-all-cells"))
    clicks = 1
    deadline = time.monotonic() + timeout
    stopped_since: float | None = None
    while time.monotonic() < deadline:
        state = driver.execute_script(f"return {RUN_STATE}")
        if state == "done":
            return
        if state in ("stopped", "not started"):  # idle: an error stopped Run All, or the
            stopped_since = stopped_since or time.monotonic()  # click came too early
            waited = time.monotonic() - stopped_since
            if state == "not started" and waited > 20 and clicks < 3:
                menu(driver, "Run", ("runmenu:run-all", "notebook:run-all-cells"))
                clicks, stopped_since = clicks + 1, None
            elif state == "stopped" and waited > 10:
                # an error output: Run All stopped there. None: the page lags behind the
                # kernel on a loaded machine (seen in CI): give it time, then say which cells
                errors = str(driver.execute_script(ERRORS)).strip()
                if errors or waited > 120:
                    raise AssertionError(
                        "Run All stopped before the last cell; the error outputs:\n"
                        f"{errors or '(none)'}\nthe prompts: {driver.execute_script(PROMPTS)}")
        else:
            stopped_since = None
        time.sleep(0.5)
    raise AssertionError(f"Run All did not finish within {timeout:.0f}s")


INSPECT = """
const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
const cells = [...panel.querySelectorAll('.jp-Cell')].map(cell => ({
  code: cell.classList.contains('jp-CodeCell'),
  source: (cell.querySelector('.cm-content') || {}).textContent || '',
  inputHidden: !!cell.querySelector('.jp-InputPlaceholder'),
  tables: [...cell.querySelectorAll('.jp-OutputArea-output table')].map(t => t.innerText),
  images: [...cell.querySelectorAll('.jp-OutputArea-output img, .jp-MarkdownOutput img')].map(
      i => ({src: i.getAttribute('src').slice(0, 80), w: i.naturalWidth, h: i.naturalHeight,
             complete: i.complete})),
  details: [...cell.querySelectorAll('details')].map(d => ({open: d.open,
      summary: (d.querySelector('summary') || {}).textContent || ''})),
  stderr: [...cell.querySelectorAll(
      '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')].map(
      e => e.textContent),
  text: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n'),
  progress: cell.querySelectorAll('.labkit-progress progress').length,
}));
return cells;
"""


def inspect(driver: Any) -> list[dict[str, Any]]:
    """What a learner sees in the open notebook, cell by cell."""
    return list(driver.execute_script(INSPECT))


def screenshot(driver: Any, path: Path, selector: str | None = None) -> Path:
    """Scroll `selector` (the first match) into view, then save the window as a PNG."""
    if selector:
        driver.execute_script(
            "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView("
            "{block: 'center'});", selector)
        time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path
