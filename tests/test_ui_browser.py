"""The real page in a real browser: ``medassist ui`` (Streamlit) against a live gateway over
SmolLM2-135M-Instruct (the embedded default, untuned) and the sample index, driven by Playwright in
Debian's chromium (installed with apt-get when missing; skipped when that fails). Its screenshot is
the README's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medassist.ports import free_port
from medassist.serve.launch import running
from tests.fixtures.serve import LiveServer, gateway

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, plus a CJK font so the Chinese labels render in screenshots."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip(f"{CHROMIUM} is missing and apt-get cannot install it here (needs Debian and root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-wqy-zenhei"]
    proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0 or not Path(CHROMIUM).exists():
        pytest.skip(f"could not install chromium with apt-get: {(proc.stderr or proc.stdout)[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def smollm2_server(smollm2_dir: Path, sample_index_dir: Path, tmp_path_factory) -> Iterator[LiveServer]:
    """The gateway as a clinician meets it: a real pretrained model (local engine) and retrieval."""
    args = ["--engine", "local", "--model", str(smollm2_dir), "--index", str(sample_index_dir)]
    with gateway(args, tmp_path_factory.mktemp("serve-smollm2") / "gateway.log") as server:
        yield server


@pytest.fixture(scope="module")
def ui_url(smollm2_server: LiveServer, tmp_path_factory) -> Iterator[str]:
    """``medassist ui`` on a free loopback port, in its own process group (ended with it)."""
    port = free_port()
    tmp = tmp_path_factory.mktemp("ui")
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "medassist.cli", "ui", "--api", smollm2_server.url, "--port", str(port),
           "--feedback-db", str(tmp / "feedback.sqlite")]
    env = {**os.environ, "MEDASSIST_API_KEY": smollm2_server.api_key}
    with running(cmd, f"{url}/_stcore/health", tmp / "streamlit.log", name="medassist ui", env=env,
                 ready_timeout_s=120, healthy=lambda reply: reply.text == "ok", own_group=True):
        yield url


def test_ask_in_the_browser(chromium, ui_url, test_output):
    from playwright.sync_api import expect, sync_playwright

    question = "Fever, cough and pleuritic chest pain in a 60-year-old smoker: what is likely?"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(ui_url)
            max_tokens = page.get_by_label("Max answer tokens")
            max_tokens.fill("48")
            max_tokens.press("Enter")
            box = page.get_by_placeholder("Describe the patient or ask a clinical question")
            expect(box).to_be_enabled(timeout=60_000)
            box.fill(question)
            box.press("Enter")
            # the feedback form is drawn once the streamed answer is complete
            expect(page.get_by_role("button", name="Send feedback")).to_be_visible(timeout=240_000)
            messages = page.get_by_test_id("stChatMessage")
            expect(messages).to_have_count(2)
            answer = messages.nth(1)
            expect(answer).to_contain_text("decision support")
            links = answer.locator('a[href^="https://pubmed.ncbi.nlm.nih.gov/"]')
            expect(links.first).to_be_visible()
            page.screenshot(path=str(test_output / "ui.png"), full_page=True)
            assert question in messages.nth(0).inner_text()
            text = answer.inner_text().split("medassist is decision support")[0]  # the answer, not the notice
            assert len(re.findall(r"\b[a-z]{3,}\b", text.lower())) >= 8, text  # a sentence from a real model
        finally:
            browser.close()
