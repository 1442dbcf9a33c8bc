package accounts

import (
	"crypto/rand"
	"math/big"
)

// passwordAlphabet avoids characters that are easy to misread.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// RandomPassword returns a random password of n characters.
func RandomPassword(n int) string {
	b := make([]byte, n)
	limit := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		v, _ := rand.Int(rand.Reader, limit) // crypto/rand never fails (Go 1.24+).
		b[i] = passwordAlphabet[v.Int64()]
	}
	return string(b)
}
