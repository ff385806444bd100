"""CPU-seconds by phase (autograder.phases): each phase is charged what ran in it, and nothing is counted twice."""

import threading
import time
from types import SimpleNamespace

from autograder import phases


def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_each_phase_is_charged_its_own_cpu_and_nested_phases_take_theirs_out():
    with phases.Meter(phases.WORKER) as meter:
        with phases.within(phases.AUTOGRADE):
            burn(0.2)
            with phases.within(phases.FEEDBACK):
                burn(0.3)
            time.sleep(0.3)  # waiting costs no CPU
        burn(0.1)
    cpu = meter.seconds
    assert 0.2 <= cpu[phases.AUTOGRADE] < 0.27, cpu
    assert 0.3 <= cpu[phases.FEEDBACK] < 0.37, cpu
    assert 0.1 <= cpu[phases.WORKER] < 0.17, cpu


def test_other_threads_are_counted_apart():
    with phases.Meter(phases.WORKER) as meter:
        other = threading.Thread(target=burn, args=(0.3,))
        other.start()
        other.join()
    assert 0.28 <= meter.seconds[phases.OTHER_THREADS] < 0.45, meter.seconds
    assert meter.seconds[phases.WORKER] < 0.05, meter.seconds


def test_the_kernels_cpu_before_its_first_phase_is_its_start():
    used = iter([0.5, 1.25, 1.25, 1.5])  # its group's CPU-seconds, as read at each change of phase
    km = SimpleNamespace(group=SimpleNamespace(cpu_seconds=lambda: next(used)))
    with phases.Meter(phases.WORKER) as meter:
        with phases.within(phases.KERNEL_START):
            with phases.within(phases.CELLS, km):
                pass
            with phases.within(phases.TESTS, km):
                pass
    assert abs(meter.seconds[phases.KERNEL_START] - 0.5) < 0.01, meter.seconds
    assert abs(meter.seconds[phases.CELLS] - 0.75) < 0.01, meter.seconds
    assert abs(meter.seconds[phases.TESTS] - 0.25) < 0.01, meter.seconds

