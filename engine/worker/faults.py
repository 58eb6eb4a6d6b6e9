"""Test-only fault injection, enabled by REINS_TEST_FAULT (e.g. `oom@3`, `enospc@3`): never set in real use.

`oom@N` raises torch.OutOfMemoryError at the end of step N, as a CUDA allocation failure would on a GPU;
`enospc@N` makes the events writer fail with OSError(ENOSPC) from step N on, as a full disk would."""

from __future__ import annotations

import errno
import os

from transformers import TrainerCallback

from engine.runs.events import EventWriter


class FaultInjector(TrainerCallback):
    def __init__(self, kind: str, step: int, writer: EventWriter | None) -> None:
        self.kind, self.step, self.writer = kind, step, writer

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001 - TrainerCallback signature
        if state.global_step < self.step:
            return control
        if self.kind == "oom":
            import torch

            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (simulated by REINS_TEST_FAULT)")
        if self.kind == "enospc" and self.writer is not None:
            path = self.writer.path

            def full(*_a, **_k):  # noqa: ANN002, ANN003
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

            self.writer.write = full  # the next metric event hits the "full disk"
        return control


def injected_faults(writer: EventWriter | None) -> list[TrainerCallback]:
    """The injectors REINS_TEST_FAULT asks for (none when it is unset)."""
    spec = os.environ.get("REINS_TEST_FAULT")
    if not spec:
        return []
    kind, _, step = spec.partition("@")
    if kind not in ("oom", "enospc"):
        raise ValueError(f"REINS_TEST_FAULT={spec!r}: expected oom@STEP or enospc@STEP")
    return [FaultInjector(kind, int(step or 1), writer)]
