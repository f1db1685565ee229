import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models


class UuidUser(AbstractBaseUser):
    """A UUID primary key, and no e-mail field."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(max_length=150, unique=True)

    USERNAME_FIELD = "username"


class HandleUser(AbstractBaseUser):
    """The handle itself is the primary key."""

    handle = models.CharField(max_length=40, primary_key=True)

    USERNAME_FIELD = "handle"
