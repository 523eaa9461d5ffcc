"""`make ab-report` and `make ab-report-local`: champion against challenger on labelled feedback."""
