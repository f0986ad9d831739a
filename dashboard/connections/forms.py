"""Django forms of the Connections section: a pasted Tally key, a Tallyfy token, an organization."""

from django import forms


class TallyApiKeyForm(forms.Form):
    api_key = forms.CharField(
        label="Tally API key",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "tly-…"}),
        help_text="Tally → Settings → API keys. It is checked with Tally before it is saved.",
    )


class TallyfyTokenForm(forms.Form):
    token = forms.CharField(
        label="Personal access token",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Tallyfy → Settings → Integrations → REST API. Lasts 6 months.",
    )
    org_id = forms.CharField(label="Organization ID", max_length=64)


class OrganizationChoiceForm(forms.Form):
    org_id = forms.ChoiceField(label="Organization", widget=forms.RadioSelect)

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_id"].choices = [
            (o["id"], f"{o['name']} ({o['id']})") for o in organizations
        ]
