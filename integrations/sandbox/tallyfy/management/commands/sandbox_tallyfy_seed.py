"""`manage.py sandbox_tallyfy_seed`: seed the sandbox Tallyfy."""

from django.core.management.base import BaseCommand

from integrations.sandbox.tallyfy import seed as demo


class Command(BaseCommand):
    help = "Create or refresh the sandbox Tallyfy demo data (idempotent; keeps runs)."

    def handle(self, *args, **options):
        """Seed, then print the demo ids and token."""
        demo.seed()
        self.stdout.write(
            "Sandbox Tallyfy seeded.\n"
            f"  Acme Operations org id: {demo.ACME_ID}\n"
            f"  Beta Studio org id:     {demo.BETA_ID}\n"
            f"  Personal access token:  {demo.DEMO_TOKEN} (Acme Operations)\n"
            f"  Client onboarding:      {demo.CLIENT_ONBOARDING_ID}"
        )
