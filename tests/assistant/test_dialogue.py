"""The assistant's training data validates cleanly, and the trained model follows every flow of the test stories."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import runner

ROOT = Path(__file__).resolve().parents[2]


def rasa(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    return subprocess.run([sys.executable, "-m", "rasa", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_training_data_validates_without_warnings():
    proc = rasa("data", "validate", "--fail-on-warnings")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


@pytest.mark.slow
def test_the_model_follows_every_test_story_without_a_prediction_error(tmp_path):
    assert runner.MODEL.exists(), "no trained model: run `.venv/bin/mobility train`"
    proc = rasa("test", "core", "--model", str(runner.MODEL), "--stories", "tests/stories",
                "--fail-on-prediction-errors", "--out", str(tmp_path / "results"))
    failed = tmp_path / "results" / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert proc.returncode == 0, detail + proc.stdout[-3000:] + proc.stderr[-3000:]
