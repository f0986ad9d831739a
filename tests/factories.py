"""Model factories for tests."""

from datetime import timedelta

import factory
from django.utils import timezone

from integrations.models import Connection, Provider


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    provider = Provider.TALLY
    external_id = factory.Sequence(lambda n: f"user{n}")
    label = factory.Sequence(lambda n: f"owner{n}@example.com")
    auth_kind = Connection.AuthKind.OAUTH
    access_token = factory.Sequence(lambda n: f"access-token-{n}-abcdefgh")
    refresh_token = factory.Sequence(lambda n: f"refresh-token-{n}-abcdefgh")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    token_hint = "…efgh"


class TallyfyConnectionFactory(ConnectionFactory):
    provider = Provider.TALLYFY
    external_id = factory.Sequence(lambda n: f"org{n}")
    label = factory.Sequence(lambda n: f"Org {n}")
