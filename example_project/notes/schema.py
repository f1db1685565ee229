"""How a project describes its own views next to dualauth's: drf-spectacular extensions, imported by urls.py."""

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

from dualauth.openapi import DualauthErrorSerializer

from .views import PasswordChangeSerializer


class PasswordChangeScheme(OpenApiViewExtension):
    target_class = "example_project.notes.views.PasswordChange"

    def view_replacement(self):
        class PasswordChange(self.target_class):
            pass

        return extend_schema_view(
            post=extend_schema(
                summary="Change the password",
                description="dualauth then revokes the user's other sign-ins; this one survives.",
                request=PasswordChangeSerializer,
                responses={
                    204: OpenApiResponse(description="Changed."),
                    400: DualauthErrorSerializer,
                    401: DualauthErrorSerializer,
                    403: DualauthErrorSerializer,
                },
            )
        )(PasswordChange)
