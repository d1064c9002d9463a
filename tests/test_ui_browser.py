"""The real page in a real browser: ``medassist ui`` (Streamlit) against a live gateway over
SmolLM2-135M-Instruct (the embedded default, untuned unless ``MEDASSIST_UI_TEST_MODEL``), the sample
index and the sample DDXPlus knowledge base, driven by Playwright in Debian's chromium (installed with
apt-get when missing; skipped when that fails). Its screenshots (the chat, the guided consultation)
are the README's."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    """The gateway as a clinician meets it: a real pretrained model (local engine) and retrieval. The
    untuned SmolLM2, or the model folder in ``MEDASSIST_UI_TEST_MODEL``: the README's screenshots are
    taken against ``make demo``'s tuned one (artifacts/merged-smollm2)."""
    model = os.environ.get("MEDASSIST_UI_TEST_MODEL") or str(smollm2_dir)
    args = ["--engine", "local", "--model", model, "--index", str(sample_index_dir)]
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


@contextlib.contextmanager
def _opened(chromium: str, url: str, height: int, max_tokens: int) -> Iterator[Any]:
    """The UI in headless Chromium, its answer-token limit set (sidebar), the browser closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.goto(url)
            field = page.get_by_test_id("stSidebar").get_by_label("Max answer tokens")
            field.fill(str(max_tokens))
            field.press("Enter")
            yield page
        finally:
            browser.close()


def test_ask_in_the_browser(chromium, ui_url, test_output):
    from playwright.sync_api import expect

    question = "Fever, cough and pleuritic chest pain in a 60-year-old smoker: what is likely?"
    with _opened(chromium, ui_url, height=1500, max_tokens=48) as page:
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



def _settled(page) -> None:
    """Wait until the script run has ended: while Streamlit reruns, the last run's elements stay drawn
    (marked stale) beside the new ones, so a locator can match both (seen in CI: two "yes" radios)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=240_000)
    expect(page.locator('[data-testid="stElementContainer"][data-stale="true"]')).to_have_count(0, timeout=60_000)


def _answer_suggested(page, form) -> None:
    """Answer the suggested question whatever its type: yes (binary), the last value (categorical),
    the first choice (multi-choice); then record it."""
    _settled(page)
    answer = form.get_by_test_id("stRadio")
    if answer.count():
        answer.get_by_text("yes", exact=True).click()
    elif (select := form.get_by_test_id("stSelectbox")).count():
        select.click()
        page.get_by_role("option").last.click()
    else:
        form.get_by_test_id("stMultiSelect").click()
        page.get_by_role("option").first.click()
        page.keyboard.press("Escape")
    form.get_by_role("button", name="Record answer").click()


def _pick(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_guided_consultation_in_the_browser(chromium, ui_url, test_output):
    """Age, sex and chief complaint; three suggested questions answered; after each the case the
    model read grows and the history lists one more answer; the leading condition explained by bars;
    the combined differential (model + knowledge base) shown under it."""
    from playwright.sync_api import expect

    with _opened(chromium, ui_url, height=1750, max_tokens=400) as page:
        page.get_by_test_id("stSidebar").get_by_text("Guided", exact=True).click()
        start = page.get_by_role("button", name="Start consultation")
        expect(start).to_be_enabled(timeout=60_000)
        age = page.get_by_label("Age (years)")
        age.fill("59")
        age.press("Tab")  # a number input commits its value on leaving it
        _pick(page, "Sex", "male")
        _pick(page, "Chief complaint", "Experiencing shortness of breath or difficulty breathing")
        conditions = page.get_by_label("Conditions to list")
        conditions.fill("3")
        conditions.press("Tab")
        start.click()
        case = page.get_by_test_id("stExpander").filter(has_text="Case as the model read it")
        expect(case).to_contain_text("A 59-year-old man.", timeout=240_000)
        history = page.get_by_text(re.compile(r"^Questions asked: \d+ answered"))
        expect(history).to_have_text("Questions asked: 0 answered, 0 skipped")
        read = [case.inner_text()]
        for number in range(1, 4):
            _answer_suggested(page, page.locator(f".st-key-guided_question_{number - 1}"))
            expect(history).to_have_text(f"Questions asked: {number} answered, 0 skipped", timeout=240_000)
            expect(case).to_have_count(1)  # the last run's elements, drawn where the new differential is longer,
            read.append(case.inner_text())  # are gone once the script has finished
            assert read[-1] != read[-2], "the differential was not asked again with the new answer"
        asked = page.locator(".st-key-guided_history li")
        expect(asked).to_have_count(3)
        for item in asked.all():
            expect(item).to_contain_text("leading:")
        # the first condition's findings as bars, with the sentence under them
        first = page.get_by_test_id("stMain").get_by_test_id("stExpander").first  # the leading condition
        chart = first.get_by_test_id("stVegaLiteChart")
        expect(chart.locator("canvas, svg").first).to_be_visible(timeout=30_000)
        box = chart.bounding_box()
        assert box and box["height"] > 60 and box["width"] > 200, box
        expect(first.locator("em").filter(has_text=re.compile(r"\b(raises?|lowers?)\b")).first).to_be_visible()
        combined = page.locator(".st-key-guided_combined")  # the model + knowledge base table beside it
        expect(combined).to_contain_text("Model + knowledge base")
        expect(combined.get_by_test_id("stDataFrame")).to_be_visible()
        page.get_by_test_id("stMain").evaluate("main => main.scrollTo(0, 0)")  # Streamlit scrolls inside it
        page.wait_for_timeout(500)  # the chart's enter transition
        page.screenshot(path=str(test_output / "ui-guided.png"), full_page=True)

