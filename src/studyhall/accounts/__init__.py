"""Users, roles, sessions and refresh tokens, 2FA, verification and password reset."""
