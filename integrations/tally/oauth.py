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
    # Tally's API reference: "Tally does not define scopes" (a token reaches everything the
    # user can). Integrations have been seen sending `user forms responses webhooks`, so an
    # install whose OAuth app asks for them can set TALLY_OAUTH_SCOPES; by default none is sent.
    # Docs: https://developers.tally.so/api-reference/oauth
    scope=lambda: settings.TALLY_OAUTH_SCOPES,
)
