from django.urls import path

from . import views

app_name = "dualauth"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("me/", views.MeView.as_view(), name="me"),
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    path("sessions/revoke-others/", views.RevokeOthersView.as_view(), name="sessions-revoke-others"),
    path("sessions/<str:pk>/", views.SessionDetailView.as_view(), name="session-detail"),
    path("csrf/", views.CsrfView.as_view(), name="csrf"),
]
