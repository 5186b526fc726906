"""compute acceptance suite (Redfish)."""
