"""Business services: fn(uow, *, typed args) -> frozen result; they flush, never commit."""
