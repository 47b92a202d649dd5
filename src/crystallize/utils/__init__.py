"""Small utilities shared across Crystallize (context, hashing, pickling checks)."""
