"""Benchmarks of kibana-chatops: every figure is a ratio against a baseline measured in the same run.

`python -m bench [name…] [--size tiny|full] [--json PATH]`; see bench/__main__.py and
docs/performance.md. Everything runs on 127.0.0.1 (ephemeral ports).
"""
