"""Each process sets its torch thread count: its share of the cores, never all of them.

torch defaults to one thread per core in every process, so two trainings side by side on
2 cores run 4 threads and thrash (a 2-minute baseline took 3.7x as long beside another).
``optimize --n-workers N`` gives each of its N processes ``cores // N`` threads; every run
record keeps the count it used (``machine.cpu_threads_used``).
"""

from __future__ import annotations

import logging
import os

__all__ = ["THREADS_ENV", "available_cores", "thread_share", "use_thread_share"]

logger = logging.getLogger(__name__)

#: Set by a parent for the workers it starts (and by a user to override the share).
THREADS_ENV = "GREENSEARCH_TORCH_THREADS"


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        return os.cpu_count() or 1


def thread_share(n_workers: int = 1, *, cores: int | None = None) -> int:
    """Threads for one of ``n_workers`` processes sharing this machine (at least 1).

    ``GREENSEARCH_TORCH_THREADS``, when set to a positive integer, wins: a parent that
    already split the cores passes each worker its share that way.
    """
    override = os.environ.get(THREADS_ENV, "").strip()
    if override.isdigit() and int(override) > 0:
        return int(override)
    total = cores if cores is not None else available_cores()
    return max(1, total // max(n_workers, 1))


def use_thread_share(n_workers: int = 1) -> int:
    """Set torch's intra-op threads to this process's share; returns the count set."""
    import torch

    threads = thread_share(n_workers)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    logger.info("torch threads: %d (%d worker(s) on this machine)", threads, n_workers)
    return threads
