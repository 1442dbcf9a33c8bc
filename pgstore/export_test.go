package pgstore

// The statements whose plans the tests check.
const (
	ExpireSQL = expireSQL
	TrimSQL   = trimSQL
)
