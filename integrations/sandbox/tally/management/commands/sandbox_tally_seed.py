"""`manage.py sandbox_tally_seed`: seed (or reset) the sandbox Tally."""

from django.core.management.base import BaseCommand

from integrations.sandbox.tally.seed import reset, seed


class Command(BaseCommand):
    help = "Seed the sandbox Tally (idempotent): demo users, forms and past submissions."

    def add_arguments(self, parser):
        """`--reset` forgets everything first."""
        parser.add_argument("--reset", action="store_true", help="forget everything first")

    def handle(self, *args, reset_first: bool = False, **options):
        """Seed, then print each user's API key and each form."""
        seeded = reset() if options.get("reset") else seed()
        for user in seeded.users:
            self.stdout.write(f"Tally user {user.full_name} <{user.email}>: API key {user.api_key}")
        for form in seeded.forms:
            n = form.submissions.count()
            self.stdout.write(f"  form {form.id} {form.name!r} ({form.owner_id}): {n} submissions")
