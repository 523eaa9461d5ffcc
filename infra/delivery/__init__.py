"""The delivery pipeline (CDK Pipelines): one stack, deployed once, that ships every environment."""
