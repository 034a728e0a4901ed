"""Services: rules and one unit of work each; they take plain values and return plain dataclasses."""
