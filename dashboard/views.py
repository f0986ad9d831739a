from django.shortcuts import render

from integrations.models import Connection, Provider

from .access import staff_required


@staff_required
def overview(request):
    connections = list(Connection.objects.all())
    by_provider = {p: [c for c in connections if c.provider == p] for p in Provider}
    steps = [
        ("Connect a Tally account", bool(by_provider[Provider.TALLY]), "dashboard:connections"),
        (
            "Connect a Tallyfy organization",
            bool(by_provider[Provider.TALLYFY]),
            "dashboard:connections",
        ),
    ]
    return render(
        request,
        "dashboard/overview.html",
        {"connections": connections, "steps": steps},
    )
