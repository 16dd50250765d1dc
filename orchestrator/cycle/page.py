"""The dashboard's cycle page: champion history, per-category scores per cycle, gate decisions and
data counts, as one self-contained HTML string (no scripts, no external assets).

    html = render_cycle_page(CyclePaths(state_dir))
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from evotrain.io import read_model
from orchestrator.cycle.models import BenchmarkOutput, GateOutput, GenerateOutput, QualityOutput
from orchestrator.cycle.store import CyclePaths, all_states, archive_entries, load_pointer

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.promote{color:#0a6b2b;font-weight:600}.keep{color:#9a5b00}.low{background:#fde2e2}
"""


def _opt(path: Path, model: type):
    return read_model(path, model) if path.is_file() else None


def _cell(value: float | None, low: bool = False) -> str:
    if value is None:
        return "<td>-</td>"
    return f'<td class="low">{value:.3f}</td>' if low else f"<td>{value:.3f}</td>"


def render_cycle_page(paths: CyclePaths, title: str = "Continuous cycle") -> str:
    pointer = load_pointer(paths)
    states = all_states(paths)
    rows: list[tuple[str, BenchmarkOutput | None, GateOutput | None, GenerateOutput | None, QualityOutput | None]] = []
    categories: set[str] = set()
    for state in states:
        folder = paths.cycle(state.id)
        bench = _opt(folder / "benchmark.json", BenchmarkOutput)
        if bench:
            categories |= set(bench.by_category)
        rows.append((state.id, bench, _opt(folder / "gate.json", GateOutput),
                     _opt(folder / "generate.json", GenerateOutput), _opt(folder / "quality.json", QualityOutput)))
    cats = sorted(categories)
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
           f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>",
           f"<p>Champion: <b>{escape(pointer.champion or 'none')}</b>"
           + (f" since {escape(pointer.since)}" if pointer.champion else "") + "</p>"]

    out.append("<h2>Scores per category per cycle</h2><table><tr><th>cycle</th><th>overall</th>"
               + "".join(f"<th>{escape(c)}</th>" for c in cats) + "<th>decision</th><th>why</th></tr>")
    for cycle_id, bench, gate, _gen, _qual in rows:
        regressed = set(gate.regressed) if gate else set()
        cells = "".join(_cell(bench.by_category.get(c) if bench else None, c in regressed) for c in cats)
        if gate is None:
            decision, why = "<td>unfinished</td>", ""
        elif gate.promote:
            decision, why = '<td class="promote">promoted</td>', f"replaces {gate.champion_before or 'nothing'}"
        else:
            decision, why = '<td class="keep">kept champion</td>', "; ".join(gate.reasons)
        out.append(f"<tr><td>{escape(cycle_id)}</td>{_cell(bench.overall if bench else None)}{cells}"
                   f"{decision}<td>{escape(why)}</td></tr>")
    out.append("</table>")

    out.append("<h2>Data per cycle</h2><table><tr><th>cycle</th><th>generated</th><th>kept</th><th>kept %</th>"
               "<th>failed generators</th><th>targeted categories</th></tr>")
    for cycle_id, _bench, _gate, gen, qual in rows:
        failed = ", ".join(r.source for r in gen.reports if not r.ok) if gen else ""
        pct = f"{100 * qual.n_kept / qual.n_input:.1f}" if qual and qual.n_input else "-"
        out.append(f"<tr><td>{escape(cycle_id)}</td><td>{gen.n_examples if gen else '-'}</td>"
                   f"<td>{qual.n_kept if qual else '-'}</td><td>{pct}</td><td>{escape(failed)}</td>"
                   f"<td>{escape(', '.join(gen.weak_categories) if gen else '')}</td></tr>")
    out.append("</table>")

    out.append("<h2>Champion history</h2><table><tr><th>at</th><th>action</th><th>champion</th><th>by</th></tr>")
    for event in pointer.history:
        out.append("<tr>" + "".join(f"<td>{escape(str(event.get(k, '')))}</td>"
                                    for k in ("at", "action", "champion", "by")) + "</tr>")
    out.append("</table><h2>Archive</h2><table><tr><th>model</th><th>overall</th><th>promoted</th></tr>")
    for entry in archive_entries(paths):
        out.append(f"<tr><td>{escape(entry.id)}</td>{_cell(entry.overall)}<td>{escape(entry.promoted)}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def state_dirs(workdir: Path) -> list[Path]:
    """The cycles' state folders under a cycle workdir (`runs/cycle/`): those with a cycle or a champion."""
    if not workdir.is_dir():
        return []
    return sorted(d for d in workdir.iterdir()
                  if d.is_dir() and ((d / "cycles").is_dir() or (d / "champion.json").is_file()))


def write_cycle_page(state_dir: Path, out: Path) -> Path:
    """Render the cycle of `state_dir` into the HTML file `out` (atomically)."""
    from evotrain.io import atomic_write_text

    return atomic_write_text(out, render_cycle_page(CyclePaths(state_dir), f"Continuous cycle '{state_dir.name}'"))


def write_cycle_pages(workdir: Path, out_dir: Path) -> list[tuple[str, str]]:
    """A page per cycle under `workdir`, written into `out_dir` as cycle-<name>.html: what the campaign
    dashboard links to. Returns (cycle name, file name) pairs."""
    pages = []
    for state_dir in state_dirs(workdir):
        name = f"cycle-{state_dir.name}.html"
        write_cycle_page(state_dir, out_dir / name)
        pages.append((state_dir.name, name))
    return pages
