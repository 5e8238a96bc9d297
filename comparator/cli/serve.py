"""``comparator open FILE [--port P] [--host H]``: the dashboard on one file.

The user running the command owns the server, so the file's folder joins the folders the
dashboard may open (``COMPARATOR_DATA_DIRS`` of the server's environment, keeping the folders
already allowed) and the file is opened through the app's link ``?path=FILE``. Streamlit is
imported only by the server process, never by the CLI.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

import click

from comparator.schema.files import open_regular
from comparator.schema.settings import allowed_dirs, loopback_only, settings

ROOT = Path(__file__).resolve().parents[2]  # the repository: app.py, .streamlit/


def server_env(file: Path) -> dict[str, str]:
    """The server's environment: the allowed folders (the defaults written out when
    ``COMPARATOR_DATA_DIRS`` is unset) plus ``file``'s folder."""
    dirs = [str(d) for d in allowed_dirs()]
    folder = str(file.resolve().parent)
    if folder not in dirs:
        dirs.append(folder)
    return {**os.environ, "COMPARATOR_DATA_DIRS": os.pathsep.join(dirs)}


def app_url(host: str, port: int, file: Path) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/?path={quote(str(file.resolve()), safe='')}"


def sign_in_configured() -> bool:
    """Whether the server will ask for sign-in: an ``[auth]`` block in the secrets Streamlit
    reads (the app's ``.streamlit/secrets.toml``, then the user's ``~/.streamlit/``)."""
    for path in (ROOT / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" /
                 "secrets.toml"):
        try:
            if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                return True
        except (OSError, ValueError):
            continue
    return False


def exposure_warning(host: str, port: int) -> str | None:
    """What listening on ``host`` opens to others (None for this machine only, or when
    sign-in is configured)."""
    if loopback_only(host) or sign_in_configured():
        return None
    then = ("it serves everyone anyway (COMPARATOR_ALLOW_ANONYMOUS=1)"
            if settings().allow_anonymous else "so it serves no data until sign-in is "
            "configured, unless COMPARATOR_ALLOW_ANONYMOUS=1")
    return (f"warning: --host {host} makes the dashboard reachable from other machines, with "
            f"no sign-in: anyone who can reach port {port} could read the files in the folders "
            "it may open (COMPARATOR_DATA_DIRS) and start runs with this server's API keys; "
            f"{then}. Configure sign-in (an [auth] block in .streamlit/secrets.toml, see "
            "docs/team.md), or use --host 127.0.0.1")


def command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
            "--server.port", str(port), "--server.address", host,
            "--server.headless", "true"]


@click.command("open", short_help="start the dashboard with a file opened")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--port", type=int, default=8501, show_default=True,
              help="port of the dashboard (1 to 65535)")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (127.0.0.1: this machine only)")
def open_file(file: Path, port: int, host: str) -> int:
    """Start the dashboard with FILE (a judged file in any supported format) opened; the
    file's folder joins the folders the dashboard may open."""
    file = file.expanduser()
    os.close(open_regular(file))  # the one open's refusals (missing, a folder, a pipe): exit 2
    if not 0 < port < 65536:
        print(f"error: --port {port}: give a port between 1 and 65535", file=sys.stderr)
        return 2
    if (warning := exposure_warning(host, port)) is not None:
        print(warning, file=sys.stderr, flush=True)
    print(f"comparator: open {app_url(host, port, file)}  (Ctrl+C stops the server)",
          flush=True)
    sys.stderr.flush()
    cmd, env = command(host, port), server_env(file)
    os.chdir(ROOT)  # the app's .streamlit/config.toml applies; the file's path is absolute
    os.execve(cmd[0], cmd, env)  # the server takes this process's place
    return 0  # not reached
