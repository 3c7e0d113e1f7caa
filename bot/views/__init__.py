"""What users read, built from the services' results: platform-neutral text."""
