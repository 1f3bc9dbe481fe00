"""Technical conditions: versioned schemas of every message, side by side."""

from ctop_node.tc.registry import DEFAULT_REGISTRY, Rule, TcRegistry, TcVersion, to_field_errors

__all__ = ["DEFAULT_REGISTRY", "Rule", "TcRegistry", "TcVersion", "to_field_errors"]
