"""The sandbox's landing page."""

from django.shortcuts import render


def index(request):
    """Landing page: what the sandbox pretends to be and links to each vendor's pages."""
    return render(request, "sandbox/index.html")
