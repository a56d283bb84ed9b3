"""A script with no knob declaration."""

print("hello")
