"""Support for the tests and benchmarks: fixtures, phantoms, accuracy against ground truth.

Nothing in the pipeline imports this package (tests/unit/test_import_graph.py checks it); it is
imported only by tests/, benchmarks/ and tools/.
"""
