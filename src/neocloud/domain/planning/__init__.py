"""Planning: the operator's own demand, its forecast, and what can be sold safely."""
