package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFlags(t *testing.T) {
	const pg = "-pg=postgres://x@127.0.0.1/db"
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"embedded NATS", []string{"-node", "n1", pg, "-nats-listen", "127.0.0.1:0"}, ""},
		{"NATS URL", []string{"-node", "n2", pg, "-nats", "nats://127.0.0.1:4222"}, ""},
		{"no node", []string{pg, "-nats", "nats://127.0.0.1:4222"}, "-node is required"},
		{"no PostgreSQL", []string{"-node", "n1", "-nats", "nats://127.0.0.1:4222"}, "-pg is required"},
		{"no NATS", []string{"-node", "n1", pg}, "give one of -nats"},
		{"both NATS", []string{"-node", "n1", pg, "-nats", "nats://127.0.0.1:4222", "-nats-listen", "127.0.0.1:0"}, "give one of -nats"},
		{"bad TLS", []string{"-node", "n1", pg, "-nats-listen", "127.0.0.1:0", "-tls", "maybe"}, "-tls must be"},
		{"arguments", []string{"-node", "n1", pg, "-nats-listen", "127.0.0.1:0", "extra"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "mix.localhost", o.mix)
		})
	}
}
