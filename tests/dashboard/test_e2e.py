"""End to end: the API (real HTTP), `streamlit run dashboard/app.py` on a free port and
headless Debian Chromium driven over the DevTools protocol: log in, visit every view,
screenshot each (kept in test-artifacts/screenshots/, gitignored), fail on any Streamlit
exception box, on "None", raw column names, UTC "Z" times or "degC" on screen, in the page
text and in the tables' cells (read from the grid's accessible table: st.dataframe draws on a
canvas); then an alert
published by a job reaches the open page as a banner without a reload. Bounded to about 2 min."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import websockets

from tests.conftest import subprocess_env
from tests.dashboard.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# what must never be on screen: Python's None, storage column names, UTC "Z" times, raw units
RAW_NAMES = re.compile(
    r"\b(None|nan|NaN|degC|uS/cm|[a-z0-9]+_(m3|pct|l_s|ts|id|m3_km_day|l_conn_day|l_day)|anomaly_type|node_type|"
    r"compliance_pct|limit_kind|peak_value|staleness_s|score_pct)\b"
)
UTC_Z = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z\b")
TITLES = [
    "Overview",
    "Forecast",
    "KPI dashboard",
    "Water quality",
    "Anomalies",
    "Consumption patterns",
    "Network efficiency",
    "Reports",
    "Performance monitor",
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1440,1000",
    "--remote-debugging-port=0",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Page:
    """The few DevTools calls the test needs."""

    def __init__(self, ws):
        self.ws, self.ids = ws, itertools.count(1)

    async def call(self, method: str, **params):
        i = next(self.ids)
        await self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == i:
                assert "error" not in msg, msg
                return msg["result"]

    async def js(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        body = await self.js("document.body.innerText")
        raise AssertionError(f"timed out waiting for {what}; page text: {body!r:.600}")


SETTLED = """(() => {
  const h1 = document.querySelector('h1');
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  return h1 && !running ? h1.innerText : null;
})()"""
# st.dataframe draws its cells on a canvas (not in innerText); glide-data-grid keeps an
# accessible <table role="grid"> inside it with the header and the rows in view
TABLES = """[...document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"] table[role="grid"]')]
  .map(t => ({header: [...t.querySelectorAll('thead th')].map(c => c.textContent.trim()),
              rows: [...t.querySelectorAll('tbody tr')]
                .map(r => [...r.querySelectorAll('td')].map(c => c.textContent.trim()))}))"""
FILL = """(() => {
  const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const inputs = document.querySelectorAll('[data-testid="stForm"] input');
  [%s, %s].forEach((v, i) => { set.call(inputs[i], v); inputs[i].dispatchEvent(new Event('input', {bubbles: true})); });
  return inputs.length;
})()"""


async def drive(ws_url: str, url: str, username: str, shots: Path, raise_alert=None) -> dict:
    found: dict[str, dict] = {}
    async with websockets.connect(ws_url, max_size=None) as ws:
        page = Page(ws)
        await page.call("Page.enable")
        await page.call("Page.navigate", url=url)
        await page.until("document.querySelectorAll('[data-testid=\"stForm\"] input').length == 2", 20, "login form")
        await page.js(FILL % (json.dumps(username), json.dumps(PASSWORD)))
        await asyncio.sleep(0.5)
        await page.js("document.querySelector('[data-testid=\"stFormSubmitButton\"] button').click()")
        await page.until("document.querySelectorAll('[data-testid=\"stSidebarNav\"] a').length", 20, "navigation")
        for title in TITLES:
            await page.js(
                "[...document.querySelectorAll('[data-testid=\"stSidebarNav\"] a')]"
                f".find(a => a.innerText.trim().endsWith({json.dumps(title)})).click()"
            )
            await page.until(f"{SETTLED} == {json.dumps(title)}", 20, title)
            await asyncio.sleep(1.0)  # charts draw after the script run ends
            await page.until(SETTLED, 10, f"{title} settled")
            errors = await page.js(
                '[...document.querySelectorAll(\'[data-testid="stException"], [data-testid="stAlertContentError"]\')]'
                ".map(e => e.innerText)"
            )
            shot = await page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            path = shots / f"{title.lower().replace(' ', '_')}.png"
            path.write_bytes(base64.b64decode(shot["data"]))
            text = await page.js("document.querySelector('[data-testid=\"stMain\"]').innerText")
            found[title] = {"errors": errors, "path": path, "text": text, "tables": await page.js(TABLES)}
        if raise_alert is not None:
            # an alert published by a job while the page stays open: the banner, no reload
            started = time.monotonic()
            raise_alert()
            banner = await page.until(
                "[...document.querySelectorAll('[data-testid=\"stAlert\"]')].map(e => e.innerText)"
                ".find(t => t.includes('critical alert')) || null",
                30,
                "live banner",
            )
            shot = await page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            (shots / "live_banner.png").write_bytes(base64.b64decode(shot["data"]))
            found["banner"] = {"text": banner, "seconds": time.monotonic() - started}
    return found


def test_browser_logs_in_and_visits_every_view_without_an_exception_box(
    dashboard_data, api_server, make_user, database, tmp_path, api_db, pubsub_project
):
    from abbanoa.alerts.publish import publish_pending, record_alert

    def raise_alert():
        with api_db.begin() as conn:
            record_alert(
                conn,
                tenant_id="abbanoa",
                idempotency_key="e2e-live-burst",
                source="anomaly",
                source_id=None,
                alert_type="burst",
                severity="critical",
                payload={"node_id": "N1", "district_id": "D1", "start_ts": "2026-12-04T10:00:00+00:00"},
            )
        publish_pending(api_db, database)  # fmt: skip

    chromium = shutil.which("chromium")
    assert chromium, "Debian package chromium is required (apt-get install -y chromium)"
    user = make_user("admin")
    port = free_port()
    env = subprocess_env(database, API_URL=api_server, DASHBOARD_DATA_MODE="api")
    streamlit = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    profile = tmp_path / "chromium-profile"
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy():
            try:
                return requests.get(f"{base}/_stcore/health", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(healthy, 30, "streamlit health")
        active = profile / "DevToolsActivePort"
        wait_for(active.exists, 15, "chromium devtools port")
        devtools = int(active.read_text().split()[0])
        targets = requests.get(f"http://127.0.0.1:{devtools}/json/list", timeout=5).json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        shots = ARTIFACTS
        shots.mkdir(parents=True, exist_ok=True)
        found = asyncio.run(asyncio.wait_for(drive(ws_url, base, user["username"], shots, raise_alert), 150))
    finally:
        browser.terminate()
        streamlit.terminate()
        browser.wait(10)
        streamlit.wait(10)
    print("screenshots in", shots)
    banner = found.pop("banner")
    assert list(found) == TITLES
    for title, page in found.items():
        assert page["errors"] == [], (title, page["errors"])
        assert page["path"].stat().st_size > 10_000, title  # a drawn page, not a blank one
        text = re.sub(r"/api/v1/\S*", "", page["text"])  # API routes (Performance monitor) are names by design
        assert not RAW_NAMES.findall(text), (title, RAW_NAMES.findall(text))
        assert not UTC_Z.findall(page["text"]), (title, UTC_Z.findall(page["text"]))
        # the tables' own cells, as the grid holds them
        for table in page["tables"]:
            cells = table["header"] + [c for row in table["rows"] for c in row]
            assert not [c for c in cells if RAW_NAMES.search(c) or UTC_Z.search(c)], (title, table)
            assert not [c for c in table["header"] if "_" in c], (title, table["header"])
            times = [c for c in cells if re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:", c)]
            assert not times, (title, "ISO times on screen", times)
    tables = {title: page["tables"] for title, page in found.items()}
    print({title: [(t["header"], len(t["rows"])) for t in ts] for title, ts in tables.items()})
    assert (
        tables["Performance monitor"][0]["header"][:2] == ["Job", "Status"] and tables["Performance monitor"][0]["rows"]
    )
    anomalies = tables["Anomalies"][0]
    start = anomalies["header"].index("Start")
    assert anomalies["rows"] and all(
        re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", r[start]) for r in anomalies["rows"]
    )
    assert "critical alert: burst at N1" in banner["text"] and banner["seconds"] < 30
    assert "Active nodes" in found["Overview"]["text"]
    assert " / 2" in found["Overview"]["text"]  # two nodes in this tenant
