package conformance_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/conformance"
)

// TestHTTPRevokerEscapesForItsPlace: the grant's id is escaped as a path
// segment in the path and as a query value in the query, so an id with a
// space or a slash reaches the service as itself.
func TestHTTPRevokerEscapesForItsPlace(t *testing.T) {
	var paths, queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths, queries = append(paths, r.URL.EscapedPath()), append(queries, r.URL.Query().Get("jti"))
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	id := "a b/c+d"
	require.NoError(t, conformance.HTTPRevoker{URL: srv.URL + "/v1/grants/${jti}/revoke"}.Revoke(t.Context(), id))
	require.NoError(t, conformance.HTTPRevoker{URL: srv.URL + "/revoke?jti=${jti}"}.Revoke(t.Context(), id))
	assert.Equal(t, []string{"/v1/grants/a%20b%2Fc+d/revoke", "/revoke"}, paths)
	assert.Equal(t, id, queries[1])
}
