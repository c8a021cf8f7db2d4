"""Use cases: open a unit of work, load, call the domain, commit. No SQL, no HTTP."""
