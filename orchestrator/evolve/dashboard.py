"""A one-page HTML view of the evolve state: routes (specialists), unserved clusters, births."""

from __future__ import annotations

from html import escape

from orchestrator.evolve.schemas import BirthRecord, EvolveStatus


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>none</td></tr>'}</tbody></table>"


def render_dashboard(status: EvolveStatus, births: list[BirthRecord]) -> str:
    agents = _table(
        ["agent", "intent", "threshold", "served", "born at t", "adapter"],
        [[a.agent_id, a.intent, f"{a.threshold:.3f}", a.served, a.born_t, a.adapter] for a in status.agents],
    )
    clusters = _table(
        ["cluster", "size", "in window", "decayed weight", "threshold", "labels"],
        [[c.cluster_id, c.size, c.volume_in_window, c.weight, c.threshold, c.labels] for c in status.clusters],
    )
    rows = []
    for b in births:
        gate = f"{b.gate.student:.3f} vs {b.gate.generalist:.3f}" if b.gate else ""
        kept = f"{b.reward.n_kept}/{b.reward.n_scored}" if b.reward else ""
        rows.append([b.birth_id, b.outcome, b.agent_id, b.intent, b.cluster_size, kept, gate, b.message])
    births_html = _table(["birth", "outcome", "agent", "intent", "cluster size", "kept", "gate (student vs "
                          "generalist)", "message"], rows)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>evotrain evolve</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>evotrain evolve</h1><p>state: {escape(status.state_dir)}</p>"
        f"<h2>Routes (specialists)</h2>{agents}<h2>Unserved clusters</h2>{clusters}"
        f"<h2>Births</h2>{births_html}</body></html>"
    )
