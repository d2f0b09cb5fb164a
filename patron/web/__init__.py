"""The workspace shell: navigation, dashboard and shared UI components."""
