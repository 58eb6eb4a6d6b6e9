"""Rich rendering of the queue: what runs where, what waits and why."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine import api
from engine.formatting import hms


def queue_table(status: api.QueueStatus) -> Group:
    """The running runs (GPUs, memory) and then the queued ones in order, with a line on the scheduler."""
    s = status.settings
    sched = status.scheduler
    line = Text()
    if s.paused:
        line.append("queue paused", style="bold yellow").append(" · ")
    line.append(f"scheduler pid {sched.get('pid')}" if sched.get("alive") else "no scheduler running",
                style="green" if sched.get("alive") else "dim")
    if s.max_running:
        line.append(f" · at most {s.max_running} at once")
    elif not status.gpus:
        line.append(" · at most 1 at once").append(" (CPU-only; `reins queue set max_running=N` for more)", style="dim")
    else:
        line.append(" · as many at once as the GPUs hold")
    line.append(f" · packing {'on, up to ' + format(s.pack_share, '.0%') + ' of a GPU' if s.pack else 'off'}")
    parts: list = [line]
    if status.gpu_notes:
        parts.append(Text("GPUs: " + " · ".join(status.gpu_notes), style="dim"))
    if not status.rows:
        parts.append(Text("Nothing running or queued. `reins run RECIPE --queue` or `reins sweep` adds work."))
        return Group(*parts)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("#", "run", "status", "GPUs", "needs", "priority", "sweep", "for / why"):
        table.add_column(col, no_wrap=col != "for / why")
    now = datetime.now(timezone.utc)
    for row in status.rows:
        rec = row.view.record
        q = rec.get("queue") or {}
        need = rec.get("need_gib")
        when = _since(q.get("submitted") if row.position else (q.get("started") or rec.get("created")), now)
        why = row.waiting or ("" if row.position is None else "next" if row.position == 1 else "")
        table.add_row(str(row.position) if row.position else "▶", row.view.id, row.view.status,
                      ",".join(map(str, row.devices)) or "-", f"{need:.1f} GiB" if need is not None else "-",
                      str(q.get("priority", 0)) if row.position else "", (rec.get("sweep") or {}).get("id", "") or "",
                      f"{when} {why}".strip())
    parts.append(table)
    return Group(*parts)


def _since(iso: str | None, now: datetime) -> str:
    try:
        return hms((now - datetime.fromisoformat(iso)).total_seconds()) if iso else ""
    except ValueError:
        return ""
