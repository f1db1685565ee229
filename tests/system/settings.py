"""The example project's settings, with changes for tests that sign in hundreds of times a minute or measure a bound.

Password hashing is deliberately slow (PBKDF2, about a second of CPU per login
on a small machine); it is not what these tests measure.
``DUALAUTH_STORE_ENTRY_MAX_AGE`` shortens the Redis store's bound, so a test
can wait it out.
"""

import os

from example_project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if os.environ.get("DUALAUTH_STORE_ENTRY_MAX_AGE"):
    DUALAUTH = {**DUALAUTH, "STORE_ENTRY_MAX_AGE": int(os.environ["DUALAUTH_STORE_ENTRY_MAX_AGE"])}  # noqa: F405
