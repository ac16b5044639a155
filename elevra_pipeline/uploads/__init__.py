"""The upload services: registering a file (and its revisions), its status, what needs attention,
the admin actions and the model stages. Plain Python: the Dagster layer (`defs/`) calls them."""
