"""Safe by default on a network, and one navigation: `streamlit run app.py` with the project's
.streamlit/config.toml listens on 127.0.0.1 only (checked in the kernel's socket table), keeps
XSRF protection on, and a deep link (/data) on a freshly started server shows app.py's
navigation, not Streamlit's automatic pages/ folder one (Debian's Chromium)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from conftest import ROOT, free_port, running
from test_browser import ARGS, CHROMIUM


def listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} writes them) in LISTEN state on ``port``."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, p = local.split(":")
                if int(p, 16) == port and state == "0A":
                    out.append(addr)
    return out


def test_config_listens_locally_with_xsrf_on():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["enableXsrfProtection"] is True
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60).stdout
    assert 'address = "127.0.0.1"' in shown and "enableXsrfProtection = true" in shown


def test_fresh_server_is_local_and_deep_link_shows_the_app_navigation(tmp_path):
    from playwright.sync_api import sync_playwright

    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
           str(port)]  # no --server.address: the config's default applies
    url = f"http://127.0.0.1:{port}"
    with running(cmd, url + "/_stcore/health", tmp_path / "st.log",
                 {"COMPARATOR_HOME": str(tmp_path)}):
        addrs = listening(port)
        assert addrs and all(a in ("0100007F", "00000000000000000000000001000000")
                             for a in addrs), addrs  # 127.0.0.1 / ::1 only, never 0.0.0.0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url + "/data")  # the first page this server ever runs
            page.wait_for_selector("text=Upload a judged file", timeout=60_000)
            page.wait_for_timeout(1500)
            nav = page.locator("[data-testid=stSidebarNav]").inner_text()
            page.screenshot(path=str(tmp_path / "deep_link.png"))
            browser.close()
    items = [x.strip() for x in nav.splitlines() if x.strip()]
    for title in ("Overview", "Examples", "Judge reliability", "Clusters", "Data"):
        assert title in items, items
    assert "app" not in items and "overview" not in items, items
