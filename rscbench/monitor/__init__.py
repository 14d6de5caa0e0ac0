"""Curvature along a user's own training loop, recorded in rscbench's store and report format.

``TrainingMonitor`` is called inside the loop (``monitor.step(model, optimizer, batch)`` before each
``optimizer.step()``); every k steps it measures the RSC certificate, the optimizer step's
sharpness, Hessian norms, the loss and the NTK drift on a fixed monitoring set.
rscbench.measure.sharpness defines the sharpness of each optimizer's step (SGD, momentum SGD,
Adam); its ``StepRule`` and ``step_rule`` are exported here too. docs/api.md shows the
calls and docs/examples/train_with_adam.py a whole run.
"""

from rscbench.measure.sharpness import StepRule, step_rule
from rscbench.monitor.monitor import DEFAULT_QUANTITIES, MonitoredRun, TrainingMonitor

__all__ = ["DEFAULT_QUANTITIES", "MonitoredRun", "StepRule", "TrainingMonitor", "step_rule"]
