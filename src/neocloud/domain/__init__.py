"""Pure domain: values, entities and rules. Standard library only (checked by import-linter)."""
