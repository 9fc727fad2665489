"""Timed work: progress reports at checkpoints, alerts, the manager summary."""
