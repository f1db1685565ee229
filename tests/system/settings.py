"""The example project's settings, with one change for tests that sign in hundreds of times a minute.

Password hashing is deliberately slow (PBKDF2, about a second of CPU per login
on a small machine); it is not what these tests measure.
"""

from example_project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
