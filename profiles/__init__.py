"""Profiles as data (base R4, no-basis, the project's IP profiles) and the offline validator."""
