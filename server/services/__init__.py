"""Business logic below the routes: each function takes a session and plain values."""
