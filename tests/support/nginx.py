"""Debian's nginx with the deployment's own site (deploy/nginx/shishi.conf), run by a test as an unprivileged
foreground process: the upstream servers and the listening port are the test's, everything else is the file as
shipped. Each response names the process that served it (X-Shishi-Upstream), so a test can tell them apart."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support.processes import ROOT, free_port

SITE = ROOT / "deploy" / "nginx" / "shishi.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def installed() -> bool:
    return Path(NGINX).exists()


def site_for(upstream_ports: list[int], port: int) -> str:
    """The shipped site with these processes as its upstream and this port to listen on."""
    site = SITE.read_text(encoding="utf-8")
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in upstream_ports)
    site, count = re.subn(r"(upstream shishi \{\n(?:\s*#.*\n)*)(?:\s*server [^\n]*\n)+", rf"\g<1>{servers}", site)
    assert count == 1, "the upstream block of deploy/nginx/shishi.conf changed shape"
    site = re.sub(r"\n\s*listen \[::\]:80;", "", site)
    site, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    assert count == 1, "the listen line of deploy/nginx/shishi.conf changed shape"
    return site


class Nginx:
    def __init__(self, workdir: Path, upstream_ports: list[int]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o777)  # worker processes run as nobody when the test runs as root
        conf = self.workdir / "nginx.conf"
        conf.write_text(
            f"""
daemon off;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {self.workdir}/access.log;
    client_body_temp_path {self.workdir}/body;
    proxy_temp_path {self.workdir}/proxy;
    fastcgi_temp_path {self.workdir}/fastcgi;
    uwsgi_temp_path {self.workdir}/uwsgi;
    scgi_temp_path {self.workdir}/scgi;
    add_header X-Shishi-Upstream $upstream_addr always;
{site_for(self.upstream_ports, self.port)}
}}
""",
            encoding="utf-8",
        )
        return conf

    def start(self, within: float = 10.0) -> Nginx:
        conf = self.write()
        with (self.workdir / "stderr.log").open("ab") as err:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.workdir), "-c", str(conf)], stdout=err, stderr=err, start_new_session=True
            )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen: {self.log()}")

    def upstream_of(self, path: str = "/healthz") -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return str(response.headers.get("X-Shishi-Upstream", ""))

    def log(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
