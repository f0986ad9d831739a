"""`manage.py dispatch_deliveries`: send new deliveries from the outbox to the broker."""

from django.core.management.base import BaseCommand

from integrations import outbox


class Command(BaseCommand):
    help = (
        "Publish new deliveries (the outbox the webhook receiver fills) to the Celery "
        "broker until stopped. Run one beside the workers; more are safe."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=outbox.DEFAULT_INTERVAL,
            help="Seconds between looks when the outbox is empty (default %(default)s).",
        )

    def handle(self, *args, interval: float, **options):
        outbox.serve(interval=interval)
