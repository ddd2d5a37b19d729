"""Prefect flows that wire the pipeline stages (chunks, task runners, retries, concurrency, artifacts); no stage
logic here.

Deployments: ``prefect.yaml`` at the repository root (work pool ``avatar-process``); clusters: docs/scale.md.
"""
