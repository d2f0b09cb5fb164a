"""Django settings modules: base (complete), production (hardening), test (speed only)."""
