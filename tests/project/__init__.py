"""The suite's own project: the views a site builds next to dualauth, which the tests call as its users would.

The demo (example_project/) has views like these; the tests use their own, so a change to the demo cannot
change what dualauth's tests prove.
"""
