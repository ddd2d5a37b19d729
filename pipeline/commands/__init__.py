"""Subcommands of ``avatar-pipeline`` (thin shims over the stages; no logic here)."""
