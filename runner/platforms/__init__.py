"""Adapters for the code hosts: everything said to GitHub or GitLab, behind one protocol."""
