"""The HTTP front door, free of any HTTP server: API Gateway's REST and HTTP APIs and Lambda function URLs as
data (models.py), and their wire formats: the events they send a function and how its answer comes back."""
