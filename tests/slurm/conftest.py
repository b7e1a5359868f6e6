"""The SLURM tests: `make test-slurm` starts a real one-node cluster
(tools/slurm/local_cluster.py) and runs them with MICROEXP_SLURM_TEST=1."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: needs a running SLURM cluster (make test-slurm)")
