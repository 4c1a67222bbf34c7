"""PostgreSQL access: the server's own tables, sessions and migrations."""
