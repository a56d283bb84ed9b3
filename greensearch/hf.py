"""greensearch around your own ``transformers.Trainer``: ``greensearch.hf.search(...)``.

See :func:`search`; a Trainer script gains it in a few lines
(README, ``examples/hf_trainer.py``).
"""

from __future__ import annotations

from greensearch.integrations._hf import search
from greensearch.integrations._hf_task import KnobFit, TrainerTask, fit_knobs

__all__ = ["KnobFit", "TrainerTask", "fit_knobs", "search"]
