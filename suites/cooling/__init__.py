"""cooling acceptance suite (Redfish)."""
