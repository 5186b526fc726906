"""sequencing acceptance suite (Redfish)."""
