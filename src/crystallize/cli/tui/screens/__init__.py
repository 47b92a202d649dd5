"""The screens of the interface: selection, run, load errors and the new-experiment dialog."""
