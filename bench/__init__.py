"""Studyhall's benchmark: a realistic data set, a mixed load, and the baseline it is compared
with. Run `python -m bench --help`; bench/README.md says what is measured."""
