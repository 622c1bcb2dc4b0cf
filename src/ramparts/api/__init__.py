"""HTTP routes, grouped by surface: graph, ices, admin, oauth."""
