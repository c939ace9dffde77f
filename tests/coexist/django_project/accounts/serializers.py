"""The spec's serializers (drf-auth-api.md "Key Components"), answering in CONTRACT.md's shapes."""

import zoneinfo

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

User = get_user_model()


def check_password_rules(password, user, field):
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as error:
        raise serializers.ValidationError({field: list(error.messages)})


def check_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise serializers.ValidationError("Invalid timezone.")
    return value


class UserProfileSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    timezone = serializers.CharField(max_length=64, validators=[check_timezone], required=False)

    class Meta:
        model = User
        fields = [
            "id", "uuid", "email", "first_name", "last_name", "full_name", "display_name", "phone_number",
            "phone_number_verified", "timezone", "is_practitioner", "account_status", "last_login", "date_joined",
            "is_active", "is_staff", "is_superuser",
        ]
        # PATCH me/ may change these four; every other field in the body is ignored.
        read_only_fields = [
            name for name in fields if name not in {"first_name", "last_name", "phone_number", "timezone"}
        ]


class UserRegistrationSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True)
    password_confirm = serializers.CharField(write_only=True)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone_number = serializers.CharField(max_length=32, required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, validators=[check_timezone], required=False)

    def validate_email(self, value):
        value = User.objects.normalize_email(value)
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with this email already exists.")
        return value

    def validate(self, attrs):
        if attrs["password"] != attrs["password_confirm"]:
            raise serializers.ValidationError({"password_confirm": ["Passwords do not match."]})
        candidate = User(**{k: v for k, v in attrs.items() if k not in {"password", "password_confirm"}})
        check_password_rules(attrs["password"], candidate, "password")
        return attrs

    def create(self, validated_data):
        validated_data.pop("password_confirm")
        return User.objects.create_user(**validated_data)


class UserLoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True)


class LogoutSerializer(serializers.Serializer):
    refresh_token = serializers.CharField()


class TokenRefreshRequestSerializer(serializers.Serializer):
    refresh_token = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True)
    new_password = serializers.CharField(write_only=True)
    new_password_confirm = serializers.CharField(write_only=True)

    def validate_old_password(self, value):
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("Old password is incorrect.")
        return value

    def validate(self, attrs):
        if attrs["new_password"] != attrs["new_password_confirm"]:
            raise serializers.ValidationError({"new_password_confirm": ["Passwords do not match."]})
        check_password_rules(attrs["new_password"], self.context["request"].user, "new_password")
        return attrs
