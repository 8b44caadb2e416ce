"""Demo data for `meetup seed-demo`: a film catalog, demo accounts and meetups."""
