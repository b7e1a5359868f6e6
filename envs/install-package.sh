#!/usr/bin/env bash
# Installs the microexp package itself into a conda env of this folder: editable, without its
# dependencies (the env's .yaml pins exactly what its rules import; tests/unit/test_envs.py
# checks it). Snakemake runs <env>.post-deploy.sh (a link to this file) inside each env it
# creates; MICROEXP_SOURCE is the repository, which the Snakefile sets to its own directory.
# A pip entry in the .yaml cannot do this: it would install every dependency of the package,
# and a relative path would not hold, since Snakemake copies the .yaml under .snakemake/conda/
# before creating the env. By hand, in the activated env: MICROEXP_SOURCE=$PWD bash <this file>.
set -euo pipefail
python -m pip install --no-input --no-deps --editable "${MICROEXP_SOURCE:?set MICROEXP_SOURCE to the repository}"
