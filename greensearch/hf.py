"""greensearch around your own ``transformers.Trainer``: ``greensearch.hf.search(...)``.

See :func:`greensearch.integrations._hf.search`; a Trainer script gains it in a few lines
(README, ``examples/hf_trainer.py``).
"""

from __future__ import annotations

from greensearch.integrations._hf import KnobFit, TrainerTask, fit_knobs, search

__all__ = ["KnobFit", "TrainerTask", "fit_knobs", "search"]
