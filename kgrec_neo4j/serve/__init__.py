"""Serving: scoring from what the model wrote back, then explanations, then recommendations, then the report
page (each module imports only the ones before it)."""
