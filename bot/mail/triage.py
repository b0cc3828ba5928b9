"""The triage report of a run: a CSV (a row per mail, then the totals) and an HTML page with bar charts.

The HTML page is self-contained (inline SVG and CSS, no script, no external resource) and every text in
it is escaped: subjects and addresses come from strangers."""
from __future__ import annotations

import csv
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

DRAFTED = "drafted"  # every question answered by the assistant
NEEDS_PERSON = "needs a person"  # a draft with open questions, or no question found
AUTO_REPLY = "skipped: auto-reply"
BOUNCE = "skipped: bounce"
MALFORMED = "malformed"
ERROR = "error"
STATUSES = (DRAFTED, NEEDS_PERSON, AUTO_REPLY, BOUNCE, MALFORMED, ERROR)
COLUMNS = ["message_id", "from", "subject", "language", "topics", "questions", "answered", "min_confidence",
           "status", "reason", "draft"]


@dataclass
class MailResult:
    message_id: str
    sender: str
    subject: str
    status: str
    language: str = ""
    topics: List[str] = field(default_factory=list)
    questions: int = 0
    answered: int = 0
    min_confidence: Optional[float] = None
    reason: str = ""
    draft: str = ""
    topic_answers: List[Tuple[str, bool]] = field(default_factory=list)  # (topic, answered) per question

    def row(self) -> Dict[str, str]:
        return {"message_id": self.message_id, "from": self.sender, "subject": self.subject,
                "language": self.language, "topics": "; ".join(self.topics), "questions": str(self.questions),
                "answered": str(self.answered),
                "min_confidence": "" if self.min_confidence is None else f"{self.min_confidence:.2f}",
                "status": self.status, "reason": self.reason, "draft": self.draft}


def totals(results: Sequence[MailResult], already_processed: int = 0) -> Dict[str, object]:
    counts = Counter(r.status for r in results)
    attempted = counts[DRAFTED] + counts[NEEDS_PERSON]
    return {
        "mails": len(results),
        "drafted in full": counts[DRAFTED],
        "needs a person": counts[NEEDS_PERSON],
        "auto-replies skipped": counts[AUTO_REPLY],
        "bounces skipped": counts[BOUNCE],
        "malformed": counts[MALFORMED],
        "errors": counts[ERROR],
        "drafts written": sum(1 for r in results if r.draft),
        "questions": sum(r.questions for r in results),
        "questions answered": sum(r.answered for r in results),
        "already processed (not read again)": already_processed,
        # The share of the mails from people (a draft was made or a person is needed) answered in full.
        "deflection rate": round(counts[DRAFTED] / attempted, 4) if attempted else 0.0,
    }


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: no formula from a stranger's subject line (=, +, -, @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(path: Path, results: Sequence[MailResult], tot: Dict[str, object]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in results:
        row = r.row()
        w.writerow([_cell(row[c]) for c in COLUMNS])
    w.writerow([])
    w.writerow(["total", "value"])
    for k, v in tot.items():
        w.writerow([k, f"{v:.2%}" if k == "deflection rate" else v])
    path.write_text(buf.getvalue(), encoding="utf-8")


def read_csv(path: Path) -> Tuple[List[Dict[str, str]], Dict[str, str]]:
    """(rows, totals) of a report CSV written by write_csv."""
    rows: List[Dict[str, str]] = []
    tot: Dict[str, str] = {}
    section = "rows"
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        for rec in reader:
            if not rec:
                continue
            if rec == ["total", "value"]:
                section = "totals"
                continue
            if section == "rows":
                rows.append(dict(zip(header, rec)))
            else:
                tot[rec[0]] = rec[1]
    return rows, tot


E = lambda s: html.escape(str(s), quote=True)  # noqa: E731

COLOURS = {DRAFTED: "#2e7d32", NEEDS_PERSON: "#ef6c00", AUTO_REPLY: "#78909c", BOUNCE: "#90a4ae",
           MALFORMED: "#c62828", ERROR: "#6a1b9a", "answered": "#2e7d32", "open": "#ef6c00"}


def bar_chart(title: str, bars: Sequence[Tuple[str, Sequence[Tuple[str, int]]]], width: int = 640) -> str:
    """An inline SVG horizontal bar chart; each bar is a stack of (series, value) segments."""
    label_w, bar_h, gap, top = 190, 22, 8, 30
    biggest = max([sum(v for _, v in segs) for _, segs in bars] + [1])
    scale = (width - label_w - 60) / biggest
    height = top + len(bars) * (bar_h + gap) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" aria-label="{E(title)}">', f"<title>{E(title)}</title>",
           f'<text x="0" y="18" font-weight="bold">{E(title)}</text>']
    for i, (label, segs) in enumerate(bars):
        y = top + i * (bar_h + gap)
        out.append(f'<text x="{label_w - 8}" y="{y + bar_h - 6}" text-anchor="end">{E(label)}</text>')
        x = float(label_w)
        for series, value in segs:
            if value <= 0:
                continue
            w = value * scale
            colour = COLOURS.get(series, "#546e7a")
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                       f"<title>{E(label)}: {E(series)} {value}</title></rect>")
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + bar_h - 6}">{sum(v for _, v in segs)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def write_html(path: Path, results: Sequence[MailResult], tot: Dict[str, object], started: datetime,
               source: str) -> None:
    status_bars = [(s, [(s, sum(1 for r in results if r.status == s))]) for s in STATUSES]
    by_topic: Dict[str, Counter] = {}
    for r in results:
        for topic, ok in r.topic_answers:
            by_topic.setdefault(topic, Counter())["answered" if ok else "open"] += 1
    topic_bars = [(t, [("answered", c["answered"]), ("open", c["open"])]) for t, c in sorted(by_topic.items())]
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{E(r.row()[c])}</td>" for c in COLUMNS) + "</tr>" for r in results)
    summary = "\n".join(f"<tr><th>{E(k)}</th><td>{E(f'{v:.0%}' if k == 'deflection rate' else v)}</td></tr>"
                        for k, v in tot.items())
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Mail triage {E(started.strftime('%Y-%m-%d %H:%M'))}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 90%; }}
svg text {{ font-family: sans-serif; font-size: 13px; }}
</style>
</head>
<body>
<h1>Mail triage</h1>
<p>Run of {E(started.strftime('%Y-%m-%d %H:%M:%S'))} on {E(source)}. Drafts only: nothing was sent.</p>
<h2>Totals</h2>
<table>{summary}</table>
{bar_chart("Mails by outcome", status_bars)}
{bar_chart("Questions by topic: answered / open", topic_bars) if topic_bars else ""}
<h2>Mails</h2>
<table>
<tr>{"".join(f"<th>{E(c)}</th>" for c in COLUMNS)}</tr>
{rows}
</table>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")


def write_report(directory: Path, results: Sequence[MailResult], started: datetime, source: str,
                 already_processed: int = 0) -> Tuple[Path, Path, Dict[str, object]]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S-%f")
    tot = totals(results, already_processed)
    csv_path, html_path = directory / f"triage-{stamp}.csv", directory / f"triage-{stamp}.html"
    write_csv(csv_path, results, tot)
    write_html(html_path, results, tot, started, source)
    return csv_path, html_path, tot
