"""HTTP layer: thin routes, dependencies, and the one place errors become responses."""
