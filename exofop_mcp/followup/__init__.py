"""The follow-up desk: where a candidate stands (``follow_up_status``) and what changed on a list of
targets (``whats_new``), each from a handful of requests per system."""
