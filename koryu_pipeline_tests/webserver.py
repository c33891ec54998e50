"""`dagster-webserver` for real, on a loopback port, for the tests that ask it (GraphQL) or
look at it (Chromium)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from koryu_pipeline_tests.runs import ROOT

ASSET_KEYS = "{ assetNodes { assetKey { path } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, query: str) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@contextmanager
def webserver(env: dict[str, str]) -> Iterator[str]:
    """The webserver on workspace.yaml with `env`; yields its base URL once the code
    location has loaded (its asset graph answers)."""
    port = free_port()
    args = ["-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode()[-3000:] if proc.stderr else "exited")
            try:
                if (post(f"{base}/graphql", ASSET_KEYS).get("data") or {}).get("assetNodes"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the webserver never answered with the asset graph")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
