"""Test doubles (never in the package): small in-memory stand-ins for the lab's parts."""
