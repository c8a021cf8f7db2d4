"""Names operators give things (sites, halls, racks, nodes, agreements): short, stable, URL-
and scheduler-safe, because they travel into Slurm reservations and Kubernetes labels.

The whole text must match (``fullmatch``): a trailing newline is not part of a valid name.
"""

from __future__ import annotations

import re

from neocloud.domain.kernel.errors import Problem

NAME_PATTERN = re.compile(r"[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?")
NAME_RULE = (
    "lower-case letters, digits, '.', '_' or '-', 1-63 characters, alphanumeric at both ends"
)


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME_PATTERN.fullmatch(value) is not None


def name_problem(value: object, field: str, location: str = "") -> Problem | None:
    """A Problem if ``value`` is not a valid name, else None."""
    if is_name(value):
        return None
    return Problem(field, value, f"invalid name: {NAME_RULE}", location)


NODE_PATTERN = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
NODE_RULE = (
    "a node's name becomes a Kubernetes Node name and a Slurm NodeName: lower-case "
    "letters, digits and '-' (a DNS-1123 label), 1-63 characters, alphanumeric at both ends"
)


def node_problem(value: object, field: str, location: str = "") -> Problem | None:
    """A Problem if ``value`` cannot name a node (stricter than a name: no '.' or '_')."""
    if isinstance(value, str) and NODE_PATTERN.fullmatch(value):
        return None
    return Problem(field, value, f"invalid node name: {NODE_RULE}", location)


MODEL_PATTERN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
MODEL_RULE = "letters, digits, '.', '_' or '-', 1-63 characters, alphanumeric at both ends"
"""GPU model names as vendors write them (H100, GB200, MI300X): case kept."""


def model_problem(value: object, field: str, location: str = "") -> Problem | None:
    """A Problem if ``value`` is not a valid GPU model name, else None."""
    if isinstance(value, str) and MODEL_PATTERN.fullmatch(value):
        return None
    return Problem(field, value, f"invalid GPU model name: {MODEL_RULE}", location)
