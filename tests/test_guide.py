"""docs/GUIDE.md: every Python block runs, in order, on the embedded default; the prose is
within its 2,000-3,000 word budget; the WhatsApp rendering keeps the formatting markers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest

from medassist.ui.user_guide import GUIDE, python_blocks, word_count

REPO = GUIDE.parents[1]


def test_word_count_in_range():
    words = word_count(GUIDE.read_text())
    assert 2000 <= words <= 3000, words


@pytest.mark.slow
def test_every_python_block_runs_in_order(tmp_path, smollm2_dir):
    blocks = python_blocks(GUIDE.read_text())
    assert len(blocks) >= 10
    # One script, so blocks share state exactly as a reader's session would; run from the repo root
    # as the guide says, with the guide's artefacts in a fresh folder. The converted SmolLM2 is the
    # session's (the guide converts it only when its folder is missing, as a re-run would find it).
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "base-smollm2-135m").symlink_to(smollm2_dir)
    script = "\n\n".join(blocks).replace('Path("runs/guide")', f"Path({str(tmp_path / 'guide')!r})")
    path = tmp_path / "guide_blocks.py"
    path.write_text(script)
    # Output to files, not pipes: a block that fails leaves the guide's server running, and it would hold
    # a pipe open (the test would wait for it until the timeout). Its own session, so it can be ended.
    out, err = tmp_path / "guide.out", tmp_path / "guide.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, str(path)], cwd=REPO, stdout=stdout, stderr=stderr,
                                start_new_session=True)
        try:
            returncode = proc.wait(timeout=1200)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the script and whatever it left running
    assert returncode == 0, err.read_text()[-4000:]
    assert "removed 1" in out.read_text() or "removed 2" in out.read_text()


def test_whatsapp_rendering():
    proc = subprocess.run([sys.executable, "-m", "medassist.cli", "guide", "--format", "whatsapp"],
                          capture_output=True, text=True, check=True)
    text = proc.stdout
    assert "*Building a diagnostic assistant with medassist" in text
    assert "```" in text  # code stays monospaced
    assert "## " not in text and "**" not in text
