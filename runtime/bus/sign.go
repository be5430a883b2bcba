package bus

// Message authentication: every message is signed by the publisher wrapper and checked by the
// subscriber side before anyone decodes it, whatever the backend, so that a party that can
// reach the broker (NATS, Redis, the message store) but does not hold the internal token
// cannot inject control events, usage, decisions or analytics.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
)

// MetaSignature is the metadata key of a message's signature: "v1:" and the base64url
// HMAC-SHA256 of the topic, the UUID, the payload and the metadata in signedMetadata.
const MetaSignature = "turnpike_sig"

// signedMetadata are the metadata keys receivers read, each signed with its value ("" when
// absent, so adding one in transit breaks the signature too). Other metadata (correlation
// IDs, poison reasons, whatever a backend adds) is informational: backends do not all carry
// it byte for byte, and no decoder trusts it. A key a decoder starts to read belongs here.
var signedMetadata = []string{MetaRevision, MetaKind, MetaVersion, MetaGateway}

// Reasons a message is rejected (the reason label of turnpike_bus_rejected_messages_total).
const (
	RejectUnsigned     = "unsigned"
	RejectBadSignature = "bad_signature"
)

const sigVersion = "v1:"

// KeyFromToken derives the bus signing key from TURNPIKE_INTERNAL_TOKEN, so that the token
// itself never keys anything but its own check.
func KeyFromToken(token string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("turnpike bus v1"))
	return m.Sum(nil)
}

// RandomKey returns a fresh signing key, for a bus that only this process uses.
func RandomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// signer signs and verifies messages with one key.
type signer struct {
	key      []byte
	rejected *prometheus.CounterVec

	mu      sync.Mutex
	lastLog time.Time
	quiet   int // rejections not logged since lastLog
}

func newSigner(key []byte, reg prometheus.Registerer) (*signer, error) {
	s := &signer{key: key, rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnpike_bus_rejected_messages_total",
		Help: "Bus messages dropped on receipt because they were unsigned or badly signed.",
	}, []string{"topic", "reason"})}
	if reg != nil {
		if err := reg.Register(s.rejected); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// mac computes the signature of msg on topic (the topic without namespace); every field is
// length-prefixed, so no two messages share an input.
func (s *signer) mac(topic string, msg *message.Message) []byte {
	m := hmac.New(sha256.New, s.key)
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		m.Write(n[:])
		m.Write(b)
	}
	field([]byte(sigVersion))
	field([]byte(topic))
	field([]byte(msg.UUID))
	for _, k := range signedMetadata {
		field([]byte(msg.Metadata.Get(k)))
	}
	field(msg.Payload)
	return m.Sum(nil)
}

// sign sets msg's signature.
func (s *signer) sign(topic string, msg *message.Message) {
	if msg.Metadata == nil {
		msg.Metadata = message.Metadata{}
	}
	msg.Metadata.Set(MetaSignature, sigVersion+base64.RawURLEncoding.EncodeToString(s.mac(topic, msg)))
}

// verify checks msg's signature: "" for a good message, the rejection reason otherwise.
func (s *signer) verify(topic string, msg *message.Message) string {
	raw, ok := strings.CutPrefix(msg.Metadata.Get(MetaSignature), sigVersion)
	if !ok {
		return RejectUnsigned
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || !hmac.Equal(got, s.mac(topic, msg)) {
		return RejectBadSignature
	}
	return ""
}

// reject counts a dropped message and logs it, at most once every 10 s with the number of
// rejections since.
func (s *signer) reject(b *Bus, topic, reason string, msg *message.Message) {
	s.rejected.WithLabelValues(topic, reason).Inc()
	s.mu.Lock()
	now := time.Now()
	if now.Sub(s.lastLog) < 10*time.Second {
		s.quiet++
		s.mu.Unlock()
		return
	}
	suppressed := s.quiet
	s.lastLog, s.quiet = now, 0
	s.mu.Unlock()
	b.log.Warn("bus: dropped a message that is not signed with this deployment's key (TURNPIKE_INTERNAL_TOKEN differs, or someone injected it)",
		"topic", topic, "reason", reason, "uuid", msg.UUID, "dropped_since_last_warning", suppressed)
}

// signingPublisher signs every message before handing it to the backend.
type signingPublisher struct {
	inner message.Publisher
	s     *signer
}

func (p signingPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		p.s.sign(topic, m)
	}
	return p.inner.Publish(topic, msgs...)
}

func (p signingPublisher) Close() error { return p.inner.Close() }

// accept verifies a received message; one that fails is acknowledged (so no backend
// redelivers it), counted and dropped.
func (b *Bus) accept(topic string, msg *message.Message) bool {
	reason := b.signer.verify(topic, msg)
	if reason == "" {
		return true
	}
	b.signer.reject(b, topic, reason, msg)
	msg.Ack()
	return false
}

// forward copies the accepted messages of in to out until in closes; once ctx ends, the
// messages still arriving are nacked.
func (b *Bus) forward(ctx context.Context, topic string, in <-chan *message.Message, out chan<- *message.Message) {
	for msg := range in {
		if !b.accept(topic, msg) {
			continue
		}
		select {
		case out <- msg:
		case <-ctx.Done():
			msg.Nack()
		}
	}
}
