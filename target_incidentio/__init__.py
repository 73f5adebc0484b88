"""Singer target that delivers records to incident.io."""
