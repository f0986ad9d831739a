from django.shortcuts import render

from .access import staff_required


@staff_required
def form_list(request):
    return render(request, "dashboard/forms.html")
