"""Who may do what: roles, API keys and the one authorization rule (``policy``)."""
