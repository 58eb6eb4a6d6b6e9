"""GPU placement on a made-up machine read through a fake NVML: 4 GPUs, one half-full from another user's job."""

from __future__ import annotations

import pytest

from engine.estimate.gpus import Gpu, read_gpus
from engine.queue.placement import Holding, Request, place, rooms
from engine.queue.settings import QueueSettings

FOREIGN_PID = 999_001  # another user's job on GPU 1


@pytest.fixture
def four_gpus(fake_nvml) -> list[Gpu]:
    """4 × 80 GiB; GPU 1 has 40 GiB taken by a process that is not Reins'."""
    fake = [{"name": "H100", "util": 0, "used": 0.5, "total": 80.0} for _ in range(4)]
    fake[1] = {"name": "H100", "util": 90, "used": 40.5, "total": 80.0, "processes": [(FOREIGN_PID, 40.0)]}
    fake_nvml(fake)
    return read_gpus()


def test_runs_needing_one_and_two_gpus_go_where_they_fit(four_gpus: list[Gpu]) -> None:
    settings, held = QueueSettings(), []
    # A 30 GiB run fits beside the foreign job: the tightest fit keeps whole GPUs free for bigger runs.
    small = place(Request("small", 1, 30.0), four_gpus, held, settings, alive=0)
    assert small.devices == (1,)
    held.append(Holding("small", small.devices, 30.0))
    # A run of two 60 GiB processes gets two empty GPUs.
    pair = place(Request("pair", 2, 60.0), four_gpus, held, settings, alive=1)
    assert pair.devices == (0, 2)
    held.append(Holding("pair", pair.devices, 60.0))
    # A 50 GiB run takes the last empty GPU; the half-full one has no room for it (and holds a run anyway).
    big = place(Request("big", 1, 50.0), four_gpus, held, settings, alive=2)
    assert big.devices == (3,)
    held.append(Holding("big", big.devices, 50.0))
    # Nothing is left: the next one waits, and says what every GPU holds.
    late = place(Request("late", 1, 10.0), four_gpus, held, settings, alive=3)
    assert not late.start and "GPU1" in late.wait and "other users'" in late.wait


def test_a_run_bigger_than_the_foreign_gap_skips_the_half_full_gpu(four_gpus: list[Gpu]) -> None:
    decision = place(Request("r", 1, 50.0), four_gpus, [], QueueSettings(), alive=0)
    assert decision.devices == (0,)


def test_packing_two_small_runs_on_one_gpu_only_when_both_estimates_fit(four_gpus: list[Gpu]) -> None:
    gpus = four_gpus[:1]  # one GPU, so packing is the only way to run two at once
    held = [Holding("first", (0,), 40.0)]
    req = Request("second", 1, 30.0)
    assert not place(req, gpus, held, QueueSettings(), alive=1).start  # packing is off by default
    packing = QueueSettings(pack=True, pack_share=0.9)
    assert place(req, gpus, held, packing, alive=1).devices == (0,)  # 40 + 30 ≤ 0.9 × 80 = 72
    assert not place(Request("third", 1, 35.0), gpus, held, packing, alive=1).start  # 40 + 35 > 72
    # A run whose memory is unknown is never packed.
    assert not place(Request("unknown", 1, None), gpus, held, packing, alive=1).start


def test_packing_counts_the_foreign_job_against_the_share(four_gpus: list[Gpu]) -> None:
    gpus = [four_gpus[1]]  # 40 GiB of another user's
    packing = QueueSettings(pack=True, pack_share=0.9)
    held = [Holding("a", (1,), 20.0)]
    assert place(Request("b", 1, 15.0), gpus, held, packing, alive=1).devices == (1,)  # 35 ≤ 0.9 × 40 = 36
    assert not place(Request("c", 1, 17.0), gpus, held, packing, alive=1).start  # 37 > 36


def test_impossible_requests_never_start(four_gpus: list[Gpu]) -> None:
    s = QueueSettings()
    assert "has 4" in place(Request("r", 8, 10.0), four_gpus, [], s, alive=0).never
    assert "largest GPU" in place(Request("r", 1, 100.0), four_gpus, [], s, alive=0).never
    assert "does not exist" in place(Request("r", 1, 1.0, devices=(7,)), four_gpus, [], s, alive=0).never


def test_pinned_devices_wait_for_exactly_those_gpus(four_gpus: list[Gpu]) -> None:
    held = [Holding("busy", (2,), 30.0)]
    pinned = place(Request("p", 2, 10.0, devices=(2, 3)), four_gpus, held, QueueSettings(), alive=1)
    assert not pinned.start and "GPU2" in pinned.wait
    assert place(Request("p", 2, 10.0, devices=(0, 3)), four_gpus, held, QueueSettings(), alive=1).devices == (0, 3)


def test_reins_processes_listed_by_nvml_are_not_taken_for_foreign_memory(fake_nvml) -> None:
    fake_nvml([{"name": "A100", "util": 50, "used": 35.5, "total": 80.0, "processes": [(4242, 35.0)]},
               {"name": "A100", "util": 0, "used": 30.0, "total": 80.0}])  # GPU 1: a container hides processes
    gpus = read_gpus()
    held = [Holding("mine", (0,), 30.0, frozenset({4242})), Holding("hidden", (1,), 30.0, frozenset({777}))]
    r0, r1 = rooms(gpus, held)
    assert r0.foreign_gib == pytest.approx(0.5, abs=0.01) and r0.committed_gib == pytest.approx(35.0)  # the larger
    assert r1.foreign_gib == pytest.approx(0.0) and r1.committed_gib == pytest.approx(30.0)


def test_concurrency_cap_and_cpu_only_machines() -> None:
    assert place(Request("r"), [], [], QueueSettings(), alive=0).start  # CPU: one at a time by default
    waiting = place(Request("r"), [], [], QueueSettings(), alive=1)
    assert not waiting.start and waiting.wait == "waiting: 1 run alive, the store allows 1 at once"
    assert place(Request("r"), [], [], QueueSettings(max_running=2), alive=1).start
    assert "no GPU" in place(Request("r", devices=(0,)), [], [], QueueSettings(), alive=0).never
    gpu = [Gpu(0, "L4", 0, 0.3, 23.7, 24.0)]
    assert not place(Request("r", 1, 5.0), gpu, [], QueueSettings(max_running=1), alive=1).start


def test_a_run_of_unknown_size_takes_only_an_idle_gpu() -> None:
    idle, busy = Gpu(0, "L4", 0, 0.3, 23.7, 24.0), Gpu(1, "L4", 80, 12.0, 12.0, 24.0)
    assert place(Request("r", 1, None), [busy, idle], [], QueueSettings(), alive=0).devices == (0,)
    assert not place(Request("r", 1, None), [busy], [], QueueSettings(), alive=0).start
