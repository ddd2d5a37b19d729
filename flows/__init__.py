"""Prefect flows that wire the pipeline stages (retries, caching, concurrency, artifacts); no stage logic here.

Deployments: ``prefect.yaml`` at the repository root (work pool ``avatar-process``).
"""
