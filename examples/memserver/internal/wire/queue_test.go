package wire_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

func TestQueueWritesInOrderThenFinal(t *testing.T) {
	var out bytes.Buffer
	q := wire.NewQueue(&out, 100, []byte("<overflow/>"))
	require.True(t, q.Send([]byte("<a/>")))
	require.True(t, q.Send([]byte("<b/>")))
	q.Close([]byte("</end>"))
	require.False(t, q.Send([]byte("<late/>")))
	require.NoError(t, q.Run())
	require.Equal(t, "<a/><b/></end>", out.String())
	<-q.Done()
}

func TestQueueOverflowEndsTheStream(t *testing.T) {
	var out bytes.Buffer
	q := wire.NewQueue(&out, 10, []byte("<overflow/>"))
	require.True(t, q.Send([]byte("<a/>")))
	require.False(t, q.Send([]byte(strings.Repeat("x", 20))))
	require.False(t, q.Send([]byte("<b/>")))
	require.NoError(t, q.Run())
	require.Equal(t, "<a/><overflow/>", out.String())
}
