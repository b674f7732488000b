"""Benchmarks of zxpolicy against pycasbin and cedarpy: ``python -m bench --help``.

Benchmarks are not tests: the test suite only runs the harness on a tiny institution and checks
that the three engines agree.
"""
