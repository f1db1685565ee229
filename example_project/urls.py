from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from example_project.notes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("demo/session/", views.demo, {"kind": "session"}, name="demo-session"),
    path("demo/tokens/", views.demo, {"kind": "jwt"}, name="demo-tokens"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("dualauth.urls")),
    path("api/notes/", views.NoteList.as_view(), name="notes"),
    path("api/account/password/", views.PasswordChange.as_view(), name="password-change"),
]

if "drf_spectacular" in settings.INSTALLED_APPS:
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

    from example_project.notes import schema  # noqa: F401  (describes the demo's own views)

    urlpatterns += [
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        path("api/schema/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="schema-docs"),
    ]
