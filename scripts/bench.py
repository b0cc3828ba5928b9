#!/usr/bin/env python3
"""Measurements of the assistant, every figure taken in this run (`make bench`).

- NLU: 5-fold cross-validation (intent macro-F1, entity F1) of config.yml's pipeline beside Rasa's default
  pipeline on the same data.
- Turn latency p50/p95 over REST for questions answered from the knowledge base, beside the stock
  `rasa init` assistant served on the same machine in the same run.
- Server memory (RSS of the Rasa server and the action server) and time from start to first answer.

usage: scripts/bench.py [--skip-cv] [--skip-default | --default-split] [--rounds N]
Results: a table on stdout, and var/bench/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import runner  # noqa: E402

OUT = ROOT / "var" / "bench"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
# Questions whose answers go through the knowledge base (fee engine, grant finder, deadlines, facts).
KNOWLEDGE_TURNS = [
    "How much does a non-EU student pay for 60 credits at KdG?",
    "I'm Belgian and a part-scholarship student, what is my fee for 30 credits?",
    "Which grant can I get for a 3 month internship in Japan?",
    "Is there a grant for studying in Chile for 5 months?",
    "When is the deadline for the Priority Country Programme?",
    "Which documents do I need for my exchange application?",
    "Can I pay my tuition in instalments?",
    "Which master programmes at KASK are taught in English?",
]
STOCK_TURNS = ["hello", "I am feeling sad", "yes", "are you a bot?", "goodbye"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rasa(*args: str, cwd: Path = ROOT, timeout: float = 7200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasa", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


# -- NLU ----------------------------------------------------------------------------------------------
def reports(out: Path) -> Dict[str, Optional[float]]:
    intent = json.loads((out / "intent_report.json").read_text())
    entity_f1 = None
    for name in ("SpacyEntityExtractor_report.json", "DIETClassifier_report.json"):
        path = out / name
        if path.exists():
            report = json.loads(path.read_text())
            entity_f1 = (report.get("micro avg") or report.get("weighted avg") or {}).get("f1-score")
            break
    return {"intent_macro_f1": intent["macro avg"]["f1-score"], "entity_f1": entity_f1}


def cross_validate(config: Path, out: Path) -> Dict[str, Optional[float]]:
    proc = rasa("test", "nlu", "--cross-validation", "--folds", "5", "--config", str(config), "--nlu", "data/nlu",
                "--out", str(out), "--no-plot", "--successes")
    if proc.returncode:
        raise RuntimeError(f"cross-validation with {config} failed:\n{proc.stderr[-3000:]}")
    return reports(out)


def split_data(out: Path, seed: int = 7) -> Path:
    """One 80/20 split of data/nlu (stratified by intent, fixed seed), shared by the pipelines compared."""
    if not (out / "training_data.yml").exists():
        proc = rasa("data", "split", "nlu", "--nlu", "data/nlu", "--training-fraction", "0.8", "--random-seed",
                    str(seed), "--out", str(out))
        if proc.returncode:
            raise RuntimeError(f"rasa data split failed:\n{proc.stderr[-3000:]}")
    return out


def split_evaluate(config: Path, split: Path, out: Path) -> Dict[str, Optional[float]]:
    """Train on the split's 80 %, test on its 20 %: one fold, for when five are too slow (the default
    pipeline's transformer takes hours for 5 folds on 2 cores)."""
    proc = rasa("train", "nlu", "--config", str(config), "--nlu", str(split / "training_data.yml"), "--out",
                str(out / "model"), "--fixed-model-name", "nlu")
    if proc.returncode:
        raise RuntimeError(f"training with {config} failed:\n{proc.stderr[-3000:]}")
    proc = rasa("test", "nlu", "--model", str(out / "model" / "nlu.tar.gz"), "--nlu", str(split / "test_data.yml"),
                "--out", str(out), "--no-plot", "--successes")
    if proc.returncode:
        raise RuntimeError(f"testing with {config} failed:\n{proc.stderr[-3000:]}")
    return reports(out)


def entity_scores(nlu_dir: Path = ROOT / "data" / "nlu") -> Dict[str, float]:
    """Entity precision/recall/F1 of the spaCy pipeline (models/spacy/mobility_en, built from the knowledge
    base) against the annotations of the training data, exact spans and labels. `rasa test nlu` leaves
    SpacyEntityExtractor out of its evaluation (it treats it as pretrained); its patterns come from the
    knowledge base, not from these examples, so no cross-validation is needed."""
    import spacy
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.nlp import SPACY_DIR, extractor_labels

    labels = extractor_labels()
    nlp = spacy.load(SPACY_DIR)
    tp = fp = fn = 0
    for message in load_data(str(nlu_dir)).intent_examples:
        gold = {(e["start"], e["end"], e["entity"]) for e in message.get("entities") or [] if e["entity"] in labels}
        found = {(ent.start_char, ent.end_char, ent.label_) for ent in nlp(message.get("text")).ents
                 if ent.label_ in labels}
        tp, fp, fn = tp + len(gold & found), fp + len(found - gold), fn + len(gold - found)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(1e-9, precision + recall), "annotated": tp + fn}


def threshold_table(out: Path, thresholds=(0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)) -> List[Dict[str, float]]:
    """For each fallback threshold, on the held-out folds: the share of wrong intents it would catch (ask
    instead of answering wrongly) and the share of right ones it would needlessly question."""
    def load(name: str) -> List[dict]:
        path = out / name
        return json.loads(path.read_text()) if path.exists() else []

    right = [e["intent_prediction"]["confidence"] for e in load("intent_successes.json")]
    wrong = [e["intent_prediction"]["confidence"] for e in load("intent_errors.json")
             if e["intent_prediction"]["name"] != "nlu_fallback"]
    fallback_right = [e for e in load("intent_errors.json") if e["intent_prediction"]["name"] == "nlu_fallback"]
    rows = []
    for t in thresholds:
        rows.append({"threshold": t, "wrong_caught": sum(c < t for c in wrong) / max(1, len(wrong)),
                     "right_questioned": (sum(c < t for c in right) + len(fallback_right)) / max(1, len(right) + len(fallback_right)),
                     "n_right": len(right), "n_wrong": len(wrong)})
    return rows


def default_config(path: Path) -> Path:
    """Rasa 3.6's default English pipeline (what `rasa init` writes when the pipeline is left out), without
    the FallbackClassifier so both pipelines are compared on the classifier's own predictions."""
    path.write_text("""recipe: default.v1
language: en
assistant_id: bench-default
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
  - name: EntitySynonymMapper
policies: []
""")
    return path


def ours_without_fallback(path: Path) -> Path:
    """config.yml's pipeline without its FallbackClassifier: the classifier's own confidences, from which the
    fallback threshold is chosen."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"]
    config["policies"] = []
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# -- serving ------------------------------------------------------------------------------------------
def rss_mb(pids: List[int]) -> float:
    """Resident memory of the processes and their children, in MiB (from /proc)."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def say(port: int, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        replies = json.loads(r.read().decode() or "[]")
    ms = (time.perf_counter() - t0) * 1000
    if not replies:
        raise RuntimeError(f"no answer to {text!r}")
    return ms


def first_answer(port: int, t0: float, deadline_s: float = 300) -> float:
    while time.perf_counter() - t0 < deadline_s:
        try:
            say(port, "bench-first", "hello")
            return time.perf_counter() - t0
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    raise RuntimeError("no first answer within the deadline")


def latency(port: int, turns: List[str], rounds: int) -> Dict[str, float]:
    times = []
    for r in range(rounds):
        for i, text in enumerate(turns):
            times.append(say(port, f"bench-{r}-{i}", text))
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))],
            "turns": len(times)}


def bench_ours(rounds: int) -> Dict[str, float]:
    if runner.train():
        raise RuntimeError("training failed")
    runner.VAR = Path(tempfile.mkdtemp(prefix="bench-var-"))
    port, action_port = free_port(), free_port()
    t0 = time.perf_counter()
    procs = runner.start_stack(port, action_port, log=runner.VAR / "stack.log")
    try:
        start = first_answer(port, t0)
        lat = latency(port, KNOWLEDGE_TURNS, rounds)
        return {**lat, "start_to_first_answer_s": start, "rss_mb": rss_mb([p.pid for p in procs])}
    finally:
        runner.stop(procs)


def bench_stock(rounds: int) -> Dict[str, float]:
    """The stock `rasa init` assistant (moodbot), trained and served here."""
    home = OUT / "stock"
    if not (home / "models").exists() or not list((home / "models").glob("*.tar.gz")):
        home.mkdir(parents=True, exist_ok=True)
        proc = rasa("init", "--no-prompt", "--init-dir", str(home), cwd=home)
        if proc.returncode or not list((home / "models").glob("*.tar.gz")):
            raise RuntimeError(f"rasa init failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    model = sorted((home / "models").glob("*.tar.gz"))[-1]
    port = free_port()
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "rasa", "run", "-m", str(model), "-i", "127.0.0.1", "-p", str(port)],
                              cwd=home, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        start = first_answer(port, t0)
        lat = latency(port, STOCK_TURNS, max(1, rounds * len(KNOWLEDGE_TURNS) // len(STOCK_TURNS)))
        return {**lat, "start_to_first_answer_s": start, "rss_mb": rss_mb([server.pid])}
    finally:
        runner.stop([server])


def fmt(x: Optional[float], digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-cv", action="store_true", help="skip the NLU cross-validation (the slow part)")
    default = ap.add_mutually_exclusive_group()
    default.add_argument("--default-split", action="store_true",
                         help="compare with Rasa's default pipeline on one 80/20 split (both pipelines) instead of 5 folds")
    default.add_argument("--skip-default", action="store_true",
                         help="leave out Rasa's default pipeline (hours for 5 folds on 2 cores)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds over the questions for latency (default 5)")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Dict] = {}
    def save() -> None:  # after every stage, so a long run that is cut short still leaves its figures
        (OUT / "results.json").write_text(json.dumps(results, indent=2))

    if not args.skip_cv:
        print("NLU cross-validation, 5 folds: config.yml ...", flush=True)
        results["nlu_ours"] = cross_validate(ours_without_fallback(OUT / "ours-config.yml"), OUT / "cv-ours")
        results["fallback_thresholds"] = threshold_table(OUT / "cv-ours")
        results["entities_spacy"] = entity_scores()
        results["nlu_ours"]["entity_f1"] = results["entities_spacy"]["f1"]
        save()
    print("serving: this assistant ...", flush=True)
    results["serve_ours"] = bench_ours(args.rounds)
    save()
    print("serving: the stock `rasa init` assistant ...", flush=True)
    results["serve_stock"] = bench_stock(args.rounds)
    save()
    if not args.skip_cv and not args.skip_default:  # the slowest stage last (a 2-layer transformer DIET with entity recognition)
        if args.default_split:
            split = split_data(OUT / "split")
            print("NLU, one 80/20 split: config.yml and Rasa's default pipeline ...", flush=True)
            results["split_ours"] = split_evaluate(ours_without_fallback(OUT / "ours-config.yml"), split, OUT / "split-ours")
            results["split_ours"]["entity_f1"] = results["entities_spacy"]["f1"]  # the ruler: same on any split
            results["split_default"] = split_evaluate(default_config(OUT / "default-config.yml"), split,
                                                      OUT / "split-default")
        else:
            print("NLU cross-validation, 5 folds: Rasa's default pipeline ...", flush=True)
            results["nlu_default"] = cross_validate(default_config(OUT / "default-config.yml"), OUT / "cv-default")
        save()

    rows = []
    for ours_key, ref_key, how in (("nlu_ours", "nlu_default", "5-fold CV"), ("split_ours", "split_default", "80/20 split")):
        if ours_key in results:
            o, d = results[ours_key], results.get(ref_key, {})
            rows += [(f"NLU intent macro-F1 ({how})", fmt(o["intent_macro_f1"]), fmt(d.get("intent_macro_f1"))),
                     (f"NLU entity F1 ({how})", fmt(o["entity_f1"]), fmt(d.get("entity_f1")))]
    o, s = results["serve_ours"], results["serve_stock"]
    rows += [(f"turn latency p50, ms ({o['turns']} / {s['turns']} turns)", fmt(o["p50_ms"], 0), fmt(s["p50_ms"], 0)),
             ("turn latency p95, ms", fmt(o["p95_ms"], 0), fmt(s["p95_ms"], 0)),
             ("server memory RSS, MiB", fmt(o["rss_mb"], 0), fmt(s["rss_mb"], 0)),
             ("start to first answer, s", fmt(o["start_to_first_answer_s"], 1), fmt(s["start_to_first_answer_s"], 1))]
    width = max(len(r[0]) for r in rows)
    if "fallback_thresholds" in results:
        print("\nfallback threshold (5-fold CV, config.yml): wrong intents caught / right intents questioned")
        for r in results["fallback_thresholds"]:
            print(f"  {r['threshold']:.2f}: {r['wrong_caught']:6.1%} / {r['right_questioned']:6.1%}"
                  f"   ({r['n_wrong']} wrong, {r['n_right']} right)")
    print(f"\n{'measure':{width}}  {'mobility-assistant':>18}  {'reference':>12}")
    print(f"{'':{width}}  {'':>18}  {'(default / rasa init)':>12}")
    for name, ours, ref in rows:
        print(f"{name:{width}}  {ours:>18}  {ref:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
