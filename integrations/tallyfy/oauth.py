"""Tallyfy's OAuth 2 client registration (Laravel Passport at account.tallyfy.com).

Docs: https://tallyfy.com/products/pro/integrations/open-api/ — token requests are
form-encoded; a refresh answers with a new refresh token that replaces the old one.
"""

from django.conf import settings

from integrations.oauth import OAuthProvider

TALLYFY = OAuthProvider(
    name="tallyfy",
    authorize_url=lambda: settings.TALLYFY_OAUTH_AUTHORIZE_URL,
    token_url=lambda: settings.TALLYFY_OAUTH_TOKEN_URL,
    client_id=lambda: settings.TALLYFY_CLIENT_ID,
    client_secret=lambda: settings.TALLYFY_CLIENT_SECRET,
)
