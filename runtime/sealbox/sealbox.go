// Package sealbox seals secrets at rest and in transit with AES-256-GCM under the
// deployment's encryption key (TURNPIKE_ENCRYPTION_KEY, or <data dir>/encryption.key in
// all-in-one mode). The additional data binds a ciphertext to what it belongs to, so a
// sealed value copied onto another record does not open.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

func aead(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal returns nonce || ciphertext of plain under key, bound to aad.
func Seal(key, aad, plain []byte) ([]byte, error) {
	gcm, err := aead(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, aad), nil
}

// Open reverses Seal. It fails when the key or the additional data differ from the sealing's.
func Open(key, aad, sealed []byte) ([]byte, error) {
	gcm, err := aead(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("sealed value too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("cannot open sealed value: is the encryption key the one it was sealed with?")
	}
	return plain, nil
}
