"""Helpers shared by the knowledge-base tests: paths, the hand-worked fee cases, the source pages,
and reading the `mobility` command line's JSON with exact decimals."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
SOURCES_DIR = SHARED / "sources"
ACCEPTANCE_FEES = SHARED / "acceptance" / "fees.yaml"
FEE_CASES_FILE = HERE / "fee_cases.yaml"
TWO_PLACES = re.compile(r"^-?\d+\.\d\d$")
# the `mobility` executable, found the way tests/conftest.py finds it
MOBILITY = (Path(sys.executable).with_name("mobility") if Path(sys.executable).with_name("mobility").exists()
            else ROOT / ".venv" / "bin" / "mobility")


def load_fee_cases() -> List[Dict[str, Any]]:
    cases = yaml.safe_load(FEE_CASES_FILE.read_text(encoding="utf-8"))["cases"]
    names = [c["name"] for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"fee_cases.yaml names must be unique: {duplicates}"
    return cases


def load_acceptance_fees() -> List[Dict[str, Any]]:
    if not ACCEPTANCE_FEES.exists():
        return []
    return yaml.safe_load(ACCEPTANCE_FEES.read_text(encoding="utf-8"))["cases"]


def as_profile(raw: Dict[str, Any]) -> Dict[str, Any]:
    """A case's profile as `mobility fee` reads it (academic years as text, as a JSON client sends them)."""
    return {k: (str(v) if k in ("academic_year", "first_enrolled") else v) for k, v in raw.items()}


def source_text(file: str) -> str:
    """A source page with its whitespace collapsed, for finding the sentences the tests quote."""
    return normalise((SOURCES_DIR / file).read_text(encoding="utf-8"))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def cents(text: str) -> Decimal:
    """An expected amount written in a case ("1181.40") as an exact Decimal."""
    return Decimal(str(text))


def is_exact_cents(x: Any) -> bool:
    return isinstance(x, Decimal) and x.as_tuple().exponent == -2


def parse_cli_json(proc: subprocess.CompletedProcess) -> Any:
    """stdout of a JSON command: numbers with a fraction become Decimals (never floats)."""
    assert proc.stdout.strip(), f"no output (exit {proc.returncode}); stderr:\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout, parse_float=Decimal)


def raw_numbers(proc: subprocess.CompletedProcess) -> List[str]:
    """Every number with a fraction exactly as the command wrote it."""
    found: List[str] = []
    json.loads(proc.stdout, parse_float=lambda s: found.append(s) or Decimal(s))
    return found


def error_of(proc: subprocess.CompletedProcess) -> Tuple[int, Dict[str, Any]]:
    """Exit code and the {"error", "field"} object a rejected input prints."""
    data = parse_cli_json(proc)
    assert isinstance(data, dict) and set(data) == {"error", "field"}, f"not an error object: {proc.stdout[:500]}"
    assert isinstance(data["error"], str) and data["error"].strip(), "the error message is empty"
    return proc.returncode, data
