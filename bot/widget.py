"""The website chat widget: serves its demo page and its files (bot/static) on localhost.

`start(port, rasa_url)` serves, in a background thread, on 127.0.0.1:

- ``/`` the demo page (``/?lang=nl``: the Dutch one) with the widget talking to `rasa_url`, under a strict
  Content-Security-Policy: scripts, styles and images from this server only, connections to the assistant's REST
  webhook only, no framing, no third-party requests;
- ``/widget.js``, ``/widget.css`` and the other files of bot/static, by exact name: nothing else is served (no
  listing, no path outside bot/static).

Any page embeds the widget with one tag: ``<script src="http://HOST:8080/widget.js" data-server-url="RASA_URL"
defer></script>`` (widget.js documents the settings). `python -m bot.widget --rasa-url URL` serves it alone.
"""
from __future__ import annotations

import argparse
import html
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

STATIC = Path(__file__).resolve().parent / "static"
WEBHOOK = "/webhooks/rest/webhook"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
DEMO_PAGES = {"en": "index.html", "nl": "index.nl.html"}
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _static_files() -> Dict[str, Tuple[Path, str]]:
    """URL path -> (file, content type): the files directly in bot/static with a known type, demo pages excepted."""
    files = {}
    for p in sorted(STATIC.iterdir()) if STATIC.is_dir() else []:
        if p.is_file() and not p.name.startswith(".") and p.suffix in CONTENT_TYPES \
                and p.name not in DEMO_PAGES.values():
            files["/" + p.name] = (p, CONTENT_TYPES[p.suffix])
    return files


def _checked_url(rasa_url: str) -> str:
    """The assistant's base URL, or ValueError: it goes into a CSP header and an HTML attribute."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
            or re.search(r"[\s;,'\"<>\\]", rasa_url):
        raise ValueError(f"rasa_url must be an http(s) URL like http://localhost:5005, not {rasa_url!r}")
    return rasa_url.rstrip("/")


def content_security_policy(rasa_url: str) -> str:
    """The demo page's policy: everything from this server, connections to the assistant's webhook only."""
    webhook = _checked_url(rasa_url) + WEBHOOK
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src {webhook}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


def _handler(rasa_url: str):
    files = _static_files()
    csp = content_security_policy(rasa_url)
    pages = {lang: (STATIC / name).read_text(encoding="utf-8").replace("__SERVER_URL__", html.escape(rasa_url))
             for lang, name in DEMO_PAGES.items()}

    class Handler(BaseHTTPRequestHandler):
        server_version = "mobility-widget"
        sys_version = ""

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the serve command's terminal stays quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in {**COMMON_HEADERS, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: HTTPStatus, headers: Optional[Dict[str, str]] = None) -> None:
            self._send(status, f"{status.value} {status.phrase}\n".encode(), "text/plain; charset=utf-8",
                       {"Cache-Control": "no-store", **(headers or {})})

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                lang = (parse_qs(url.query).get("lang") or ["en"])[0]
                page = pages.get(lang, pages["en"])
                self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8", {
                    "Content-Security-Policy": csp,
                    "X-Frame-Options": "DENY",
                    "Cache-Control": "no-store",
                })
                return
            found = files.get(url.path)  # exact names only: "..", "%2e%2e", "//" never match
            if found is None:
                self._error(HTTPStatus.NOT_FOUND)
                return
            path, content_type = found
            try:
                body = path.read_bytes()  # read per request: an edited widget.js shows on reload
            except OSError:
                self._error(HTTPStatus.NOT_FOUND)
                return
            self._send(HTTPStatus.OK, body, content_type, {
                "Cache-Control": "no-cache",
                "Access-Control-Allow-Origin": "*",  # any site may embed the widget
                "Cross-Origin-Resource-Policy": "cross-origin",
            })

        do_HEAD = do_GET

        def _not_allowed(self) -> None:
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": "GET, HEAD"})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    return Handler


class WidgetServer:
    """The running server: `.url`, `.port`, `.shutdown()`."""

    def __init__(self, httpd: ThreadingHTTPServer, thread: threading.Thread):
        self.httpd = httpd
        self.thread = thread

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}/"

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> "WidgetServer":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def start(port: int = 8080, rasa_url: str = "http://localhost:5005", host: str = "127.0.0.1") -> WidgetServer:
    """Serve the demo page and the widget on host:port (0: a free port) in a background thread."""
    httpd = ThreadingHTTPServer((host, port), _handler(_checked_url(rasa_url)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name=f"widget-{port}", daemon=True)
    thread.start()
    return WidgetServer(httpd, thread)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.widget",
                                     description="Serve the chat widget and its demo page.")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rasa-url", default="http://localhost:5005", help="the assistant (Rasa run with --cors)")
    args = parser.parse_args(argv)
    server = start(args.port, args.rasa_url)
    print(f"widget demo page: http://localhost:{server.port}/ (assistant: {args.rasa_url}); Ctrl-C stops", flush=True)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
