"""A real (MD5, test-speed) password hasher that counts its work, to prove unknown users cost a hash too."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingMD5PasswordHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    calls: list[str] = []

    def encode(self, password: str, salt: str) -> str:
        type(self).calls.append("encode")
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        type(self).calls.append("verify")
        return super().verify(password, encoded)

    def harden_runtime(self, password: str, encoded: str) -> Any:
        return None
