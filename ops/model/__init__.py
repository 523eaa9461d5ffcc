"""Training in CodeBuild, following its build, fetching a published model, reading the pointer."""
