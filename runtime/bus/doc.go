// Package bus is the Watermill wiring that carries the event contract (runtime/contract):
// backends (in-process, NATS, Redis, the SQL message store), message signing, and encoding
// of control events and analytics batches into messages.
package bus
