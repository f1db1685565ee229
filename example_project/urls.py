from django.contrib import admin
from django.urls import include, path

from example_project.notes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("dualauth.urls")),
    path("api/notes/", views.NoteList.as_view(), name="notes"),
    path("api/account/password/", views.PasswordChange.as_view(), name="password-change"),
]
