"""The suite's root URLconf: the admin, dualauth's API, the suite's own project (tests/project/: a protected notes
API, a password change, a plain page), and views a project may have around them: one where users change their own
privileges (as a sudo flow would), step-ups, a DRF view only staff may call, Django's own logout view."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import authenticate
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.project import views as project


@csrf_exempt  # bearer clients send no CSRF token; the test is about privileges, not CSRF
@require_POST
def become_staff(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    request.user.is_staff = True
    request.user.save()
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
async def async_become_staff(request: HttpRequest) -> HttpResponse:
    """``become_staff`` in an async view: the save runs in a worker thread, the request's own sign-in is kept."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    user.is_staff = True
    await user.asave()
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
async def async_new_session_key(request: HttpRequest) -> HttpResponse:
    """A project's async view that gives the signed-in session a new key without ``cycle_key()`` (``create()``)."""
    if not (await request.auser()).is_authenticated:
        return HttpResponse(status=401)
    await sync_to_async(request.session.create)()
    return HttpResponse(status=204)


# What a test runs in the middle of a step-up, after the session got its new key (another tab's request, say).
DURING_STEP_UP: list = []


@csrf_exempt
@require_POST
def step_up(request: HttpRequest) -> HttpResponse:
    """A step-up (MFA, sudo) as OWASP asks: a new session id once the user proved themselves again."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    request.session.cycle_key()
    for during in DURING_STEP_UP:
        during()
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
async def async_step_up(request: HttpRequest) -> HttpResponse:
    """The same step-up in an async view, under ASGI: ``acycle_key()``."""
    if not (await request.auser()).is_authenticated:
        return HttpResponse(status=401)
    await request.session.acycle_key()
    for during in DURING_STEP_UP:
        await sync_to_async(during)()
    return HttpResponse(status=204)


@csrf_exempt
def password_check(request: HttpRequest) -> HttpResponse:
    """A project's own view that checks a password without handing the request to authenticate()."""
    user = authenticate(username=request.POST.get("username"), password=request.POST.get("password"))
    return HttpResponse(status=204 if user is not None else 401)


def boom(request: HttpRequest) -> HttpResponse:
    """Any view of the project, failing with the request's cookies in hand."""
    raise RuntimeError("a failure in a project's own view")


class StaffOnly(APIView):
    permission_classes = [IsAdminUser]
    schema = None  # out of the OpenAPI schema: no serializer to describe it by, and the schema tests fail on warnings

    def get(self, request: Request) -> Response:
        return Response({"staff": True})


urlpatterns = [
    path("", project.home),
    path("admin/", admin.site.urls),
    path("api/auth/", include("dualauth.urls")),
    path("api/notes/", project.NoteList.as_view()),
    path("api/account/password/", project.PasswordChange.as_view()),
    path("client-js/", project.client_js),
    path("become-staff/", become_staff),
    path("async-become-staff/", async_become_staff),
    path("async-new-session-key/", async_new_session_key),
    path("staff-only/", StaffOnly.as_view()),
    path("step-up/", step_up),
    path("async-step-up/", async_step_up),
    path("boom/", boom),
    path("password-check/", password_check),
    path("accounts/logout/", LogoutView.as_view()),
]

if "drf_spectacular" in settings.INSTALLED_APPS:
    from drf_spectacular.views import SpectacularAPIView

    urlpatterns.append(path("api/schema/", SpectacularAPIView.as_view(), name="schema"))
