from django.shortcuts import render

from .access import staff_required


@staff_required
def overview(request):
    return render(request, "dashboard/overview.html")


@staff_required
def forms(request):
    return render(request, "dashboard/forms.html")


@staff_required
def mappings(request):
    return render(request, "dashboard/mappings.html")


@staff_required
def deliveries(request):
    return render(request, "dashboard/deliveries.html")
