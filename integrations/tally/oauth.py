"""Tally's OAuth 2 client registration.

Docs: https://developers.tally.so/api-reference/oauth (authorization code; the token
endpoint takes a form-encoded body; newer servers support PKCE S256).
"""

from django.conf import settings

from integrations.oauth import OAuthProvider

TALLY = OAuthProvider(
    name="tally",
    authorize_url=lambda: settings.TALLY_OAUTH_AUTHORIZE_URL,
    token_url=lambda: settings.TALLY_OAUTH_TOKEN_URL,
    client_id=lambda: settings.TALLY_CLIENT_ID,
    client_secret=lambda: settings.TALLY_CLIENT_SECRET,
    # `webhooks` is needed to register the submission webhook (seen in n8n/Pipedream).
    scope="user forms responses webhooks",
)
