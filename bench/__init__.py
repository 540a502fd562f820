"""Benchmarks of the telephony API (DESIGN section 8): `make bench` writes bench/RESULTS.md.

Kept free of imports: `python -m bench.cold_child` imports this package first, and a cold
start must measure the function's imports, not ours.
"""
