"""``make bench``: dualauth measured against what a project would use instead.

Run ``python -m bench --help``. Nothing here is imported by the package or its tests.
"""
