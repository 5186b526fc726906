"""power_shelf acceptance suite (Redfish)."""
