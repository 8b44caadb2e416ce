"""The background jobs seen from outside arq: their history (written by the worker, read by the
monitor) and a loader for what arq stores that never runs code it finds there."""
