"""The API's routes, one module per area (thin: parse, guard, call a service, render)."""
