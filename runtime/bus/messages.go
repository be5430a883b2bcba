package bus

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Message metadata keys.
const (
	// MetaRevision is a control event's revision, in decimal.
	MetaRevision = "revision"
	// MetaKind is a control event's Kind.
	MetaKind = "kind"
	// MetaVersion is an analytics batch's payload version.
	MetaVersion = "v"
	// MetaGateway names the gateway a lease message is from or for.
	MetaGateway = "gateway"
)

// controlNamespace derives control messages' UUIDs from their revision and time, so a
// control event republished by the outbox relay (after a crash between publish and mark) is
// recognisably the same message (JetStream drops it within its duplicate window), while the
// same revision from a database started afresh is not.
var controlNamespace = uuid.MustParse("6f1d2a0e-5b8c-4c52-9d0e-7a3c1b2f4e10")

// ControlMessageUUID is the message UUID of a control event.
func ControlMessageUUID(ev contract.ControlEvent) string {
	key := strconv.FormatInt(ev.Revision, 10) + "/" + strconv.FormatInt(ev.At.UnixNano(), 10)
	return uuid.NewSHA1(controlNamespace, []byte(key)).String()
}

// NewControlMessage encodes one control event as one message: the event as JSON, with its
// revision and kind in the metadata.
func NewControlMessage(ev contract.ControlEvent) (*message.Message, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode control event %d: %w", ev.Revision, err)
	}
	msg := message.NewMessage(ControlMessageUUID(ev), b)
	msg.Metadata.Set(MetaRevision, strconv.FormatInt(ev.Revision, 10))
	msg.Metadata.Set(MetaKind, string(ev.Kind))
	return msg, nil
}

// PublishControl publishes events to TopicControl, one message each, in the order given
// (callers give them in revision order), in one Publish call.
func PublishControl(pub message.Publisher, evs ...contract.ControlEvent) error {
	if len(evs) == 0 {
		return nil
	}
	msgs := make([]*message.Message, len(evs))
	for i, ev := range evs {
		m, err := NewControlMessage(ev)
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	if err := pub.Publish(contract.TopicControl, msgs...); err != nil {
		return fmt.Errorf("publish control events %d..%d: %w", evs[0].Revision, evs[len(evs)-1].Revision, err)
	}
	return nil
}

// DecodeControl decodes a message made by NewControlMessage.
func DecodeControl(msg *message.Message) (contract.ControlEvent, error) {
	var ev contract.ControlEvent
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return ev, fmt.Errorf("decode control message %s: %w", msg.UUID, err)
	}
	if ev.Kind == "" || ev.Revision <= 0 {
		return ev, fmt.Errorf("decode control message %s: no kind or revision", msg.UUID)
	}
	if r := msg.Metadata.Get(MetaRevision); r != "" && r != strconv.FormatInt(ev.Revision, 10) {
		return ev, fmt.Errorf("decode control message %s: metadata revision %s, payload revision %d", msg.UUID, r, ev.Revision)
	}
	return ev, nil
}

// NewAnalyticsMessage encodes an analytics batch as one message (JSON) with a fresh UUID,
// which the control plane uses to ingest each batch once.
func NewAnalyticsMessage(batch contract.AnalyticsBatch) (*message.Message, error) {
	if batch.Version == 0 {
		batch.Version = contract.AnalyticsBatchVersion
	}
	b, err := json.Marshal(batch)
	if err != nil {
		return nil, fmt.Errorf("encode analytics batch: %w", err)
	}
	msg := message.NewMessage(watermill.NewUUID(), b)
	msg.Metadata.Set(MetaVersion, strconv.Itoa(batch.Version))
	return msg, nil
}

// PublishAnalytics publishes one batch to TopicAnalytics.
func PublishAnalytics(pub message.Publisher, batch contract.AnalyticsBatch) error {
	msg, err := NewAnalyticsMessage(batch)
	if err != nil {
		return err
	}
	if err := pub.Publish(contract.TopicAnalytics, msg); err != nil {
		return fmt.Errorf("publish analytics batch of %d events: %w", len(batch.Events), err)
	}
	return nil
}

// DecodeAnalytics decodes a message made by NewAnalyticsMessage; a batch of another payload
// version is an error.
func DecodeAnalytics(msg *message.Message) (contract.AnalyticsBatch, error) {
	var batch contract.AnalyticsBatch
	if err := json.Unmarshal(msg.Payload, &batch); err != nil {
		return batch, fmt.Errorf("decode analytics message %s: %w", msg.UUID, err)
	}
	if batch.Version != contract.AnalyticsBatchVersion {
		return batch, fmt.Errorf("decode analytics message %s: payload version %d, want %d", msg.UUID, batch.Version, contract.AnalyticsBatchVersion)
	}
	return batch, nil
}
