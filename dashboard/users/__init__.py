"""Users & roles: superusers give staff their role without going to /admin/."""
