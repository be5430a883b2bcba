package bus

import "github.com/ThreeDotsLabs/watermill/message"

// RawPublisher publishes to b's backend without signing: what someone who reaches the broker
// but lacks the internal token can do.
func RawPublisher(b *Bus) message.Publisher {
	if sp, ok := b.pub.(signingPublisher); ok {
		return sp.inner
	}
	return b.pub
}

// SignWith signs msg for topic with key, as a bus keyed so would.
func SignWith(key []byte, topic string, msg *message.Message) {
	(&signer{key: key}).sign(topic, msg)
}
