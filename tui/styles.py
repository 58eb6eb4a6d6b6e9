"""How run and sweep statuses look, and which statuses mean the run is live: shared by every screen that shows runs."""

from __future__ import annotations

STATUS_STYLE = {"completed": "green", "running": "bold cyan", "starting": "cyan", "created": "dim",
                "failed": "bold red", "crashed": "bold red", "stopped": "yellow", "queued": "magenta",
                # a sweep's own states besides its members' (engine.sweeps.record)
                "stopping": "yellow", "ended": "yellow", "pending": "dim"}
# A run in one of these may still be training: it can be stopped, and the screens keep re-reading it.
LIVE = ("created", "starting", "running")

# The report's verdict in the Runs table (engine.verdict.decision.short_verdict's first word).
VERDICT_STYLE = {"keep": "bold green", "drop": "red", "unsure": "yellow"}
