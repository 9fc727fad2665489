"""The demo and the throwaway mail servers it (and the tests) run; the daemon never imports these."""
