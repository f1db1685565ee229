"""The example project's URLs plus a view where users change their own privileges (as a sudo flow would)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_POST


@require_POST
def become_staff(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    request.user.is_staff = True
    request.user.save()
    return HttpResponse(status=204)


urlpatterns = [
    path("become-staff/", become_staff),
    path("", include("example_project.urls")),
]
