from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from example_project.notes.models import Note

DEMO_USERS = [("admin", True), ("alice", False), ("bob", False)]


class Command(BaseCommand):
    help = "Create the demo users (password = username) and a note each; safe to run again."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, staff in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.is_staff = user.is_superuser = staff
            user.set_password(username)
            user.save()
            if created:
                Note.objects.create(owner=user, text=f"{username}'s first note")
            self.stdout.write(f"  {username} / {username}{' (staff)' if staff else ''}")
        self.stdout.write(self.style.SUCCESS("Demo users ready."))
