"""The HTML reports and the docs in a real browser (Debian's chromium, headless, driven by Playwright).

Every request the page makes is intercepted: anything not served by this test's loopback servers is
refused and recorded, so "no external assets" and "loads offline" are checked, not assumed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
import requests
from demo.adult import FEATURES, ModelApp, base_profiles, train_models
from demo.serving import serve
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

from fairprobe import Settings, create_app

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("FAIRPROBE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), (
        f"no chromium at {CHROMIUM}: `make test` installs Debian's chromium (or set FAIRPROBE_CHROMIUM)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A page whose console errors and off-loopback requests are recorded (the latter refused)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    def guard(route: Route, request: Request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about") or (url.scheme in ("http", "file") and url.hostname in (
                None, "", "127.0.0.1")):
            route.continue_()
        else:
            seen.outside.append(request.url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.route("**/*", guard)
    yield seen
    page.close()


def not_blank(png: bytes) -> tuple[int, float]:
    """Distinct colours and the share of pixels that are not the background, in a screenshot."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    return len(colours), float((pixels != background).any(axis=1).mean())


def open_report(watched: Watched, html: str, tmp_path: Path, name: str) -> Page:
    path = tmp_path / f"{name}.html"  # the browser reads the service's page as a file: no server to lean on
    path.write_text(html, encoding="utf-8")
    watched.page.goto(path.as_uri())
    watched.page.wait_for_load_state("load")
    return watched.page


def check_page(watched: Watched, page: Page, tmp_path: Path, name: str) -> None:
    png = page.screenshot(full_page=True)
    (tmp_path / f"{name}.png").write_bytes(png)
    colours, ink = not_blank(png)
    assert colours > 20 and ink > 0.03, (colours, ink)
    assert watched.errors == [] and watched.outside == [], (watched.errors, watched.outside)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2  # it prints, on pages
    # nothing wider than the page: charts scale down instead of overflowing
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_compas_audit_report_renders(watched: Watched, live_server: str, compas: pd.DataFrame,
                                       tmp_path: Path) -> None:
    frame = compas.assign(high=(compas.decile_score >= 5).astype(int))
    body = {"data": {"columns": frame[["race", "sex", "two_year_recid", "high"]].to_dict("list")},
            "label": "two_year_recid", "prediction": "high", "favorable": 0,
            "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}]}
    answer = requests.post(live_server + "/v1/audits?format=html", json=body, timeout=60)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["X-Fairprobe-Verdict"] == "fail"
    page = open_report(watched, answer.text, tmp_path, "compas")
    assert page.locator(".verdict").first.inner_text().lower() == "fail"
    assert page.locator("figure.chart svg").count() >= 4  # one chart per rule and partition, plus rates
    assert page.locator("figure.chart svg circle").count() > 20
    rows = page.locator("table").first.locator("tbody tr")
    assert rows.count() == len(requests.post(live_server + "/v1/audits", json=body, timeout=60).json()["findings"])
    assert "44.85" in page.content() or page.get_by_text("African-American").count() > 0
    assert page.get_by_role("heading", name="Methods").count() == 1
    check_page(watched, page, tmp_path, "compas")


@pytest.fixture(scope="module")
def biased_model_url(data_dir: Path) -> Iterator[str]:
    _, biased = train_models(data_dir)
    with serve(ModelApp(biased)) as url:
        yield url


def test_a_name_swap_probe_report_renders(watched: Watched, biased_model_url: str, data_dir: Path,
                                          tmp_path: Path) -> None:
    app: Flask = create_app(Settings(allowed_targets=("127.0.0.1/32",)))
    body: dict[str, Any] = {
        "endpoint": {"url": biased_model_url + "/invocations", "format": "mlflow", "fields": [*FEATURES, "first_name"]},
        "profiles": {"records": base_profiles(data_dir, 60)}, "id_field": "id",
        "name_fields": {"first_name": "first_name"}, "reference": "white_male", "names_per_group": 3}
    with serve(app) as service:
        answer = requests.post(service + "/v1/probes/name-swap", json=body, headers={"Accept": "text/html"},
                               timeout=120)
    assert answer.status_code == 200 and answer.headers["X-Fairprobe-Verdict"] == "fail"
    page = open_report(watched, answer.text, tmp_path, "probe")
    captions = page.locator("figure.chart figcaption").all_inner_texts()
    assert any("paired by profile" in c for c in captions)  # the paired-difference chart
    assert page.get_by_text("sent =").count() == 1  # the accounting of every probe
    check_page(watched, page, tmp_path, "probe")


def test_the_docs_load_offline(watched: Watched, live_server: str, tmp_path: Path) -> None:
    spec = requests.get(live_server + "/openapi.json", timeout=10).json()
    operations = sum(1 for item in spec["paths"].values() for method in item if method in ("get", "post"))
    page = watched.page
    page.goto(live_server + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() == operations
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body", timeout=10_000)
    png = page.screenshot(full_page=True)
    (tmp_path / "docs.png").write_bytes(png)
    assert not_blank(png)[0] > 20
    assert watched.errors == [] and watched.outside == [], (watched.errors, watched.outside)
    page.goto(live_server + "/")
    assert page.locator("a[href='/docs']").count() == 1
