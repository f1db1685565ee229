"""A project's own user models, for tests/test_custom_user_model.py: keys other than an integer, no e-mail field.

Installed only by the tests that set ``AUTH_USER_MODEL`` to one of them; they have no tables.
"""
