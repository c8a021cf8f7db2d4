"""Lifecycle events (docs/EVENTS.md): what happened to an agreement or its invoices, as
facts written to the outbox with the change, the dated ones due at an instant, and the
rules of webhook delivery (subscriptions, signatures, retries). Standard library only."""
