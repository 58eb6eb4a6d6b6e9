"""Stopping a worker politely: SIGTERM (`reins stop`) and SIGINT set an event its work loop checks between steps."""

from __future__ import annotations

import signal
import threading


def stop_on_signals(action: str) -> threading.Event:
    """An event set by SIGTERM or SIGINT; the log line says what the worker does next (`action`)."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        print(f"[reins] {signal.Signals(signum).name} received: {action}", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
