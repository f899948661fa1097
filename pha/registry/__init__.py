"""Worker registry helpers for people and services: policies, registration, status."""
